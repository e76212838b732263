namespace LiveNews.Server.Newsroom;

/// <summary>The loop of the newsroom's sweeps: one run per interval, a failed run logged and tried again at the next.</summary>
internal static class Sweeps
{
    public static async Task EveryAsync(TimeSpan interval, TimeProvider time, Func<Task> sweep, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await sweep();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
