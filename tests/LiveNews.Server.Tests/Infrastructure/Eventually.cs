namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {seconds}s waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>The same, for a condition that has to ask something (an HTTP call) to know.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {seconds}s waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    public static async Task<T> WithinAsync<T>(Task<T> task, string what, int seconds = 20)
    {
        var finished = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds)));
        return finished == task ? await task : throw new TimeoutException($"Timed out after {seconds}s waiting for: {what}");
    }

    public static string Prefix() => "t" + Guid.NewGuid().ToString("N")[..12];
}
