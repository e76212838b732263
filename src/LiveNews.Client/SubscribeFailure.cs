using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Client;

/// <summary>Reads a failed Subscribe: what to retry, and the server's own words.</summary>
internal static class SubscribeFailure
{
    private const string Marker = "HubException: ";

    /// <summary>
    /// The server's HubException reaches the client as "An unexpected error occurred invoking 'Subscribe' on
    /// the server. HubException: &lt;message&gt;". Only a message that says "unavailable" is worth retrying;
    /// any other HubException is a refusal. Anything else (the connection dropped mid-call) is retried.
    /// </summary>
    public static (bool Refused, string Message) Classify(Exception error)
    {
        if (error is not HubException)
        {
            return (false, error.Message);
        }

        var at = error.Message.IndexOf(Marker, StringComparison.Ordinal);
        var message = at < 0 ? error.Message : error.Message[(at + Marker.Length)..];
        return (!message.Contains("unavailable", StringComparison.OrdinalIgnoreCase), message);
    }

    /// <summary>
    /// Before reconnect attempt <paramref name="attempt"/> (0 first), forever: within half a second, then about 1 s,
    /// 2 s and every 5 s, each drawn between half and all of that (the first between none and all), so that the
    /// clients of a node that died or drained do not all come back in the same instant, nor in step after that.
    /// </summary>
    public static TimeSpan ReconnectDelay(int attempt, double random)
    {
        var ceiling = attempt switch { 0 => 500, 1 => 1000, 2 => 2000, _ => 5000 };
        return TimeSpan.FromMilliseconds(Math.Round(ceiling * (attempt == 0 ? random : 0.5 + (random / 2))));
    }

    /// <summary>About 1 s, 2 s, 4 s … up to 30 s, each drawn between half and all of that (jitter).</summary>
    public static TimeSpan Backoff(int attempt, double random)
    {
        var ceiling = Math.Min(30_000, 1000 * Math.Pow(2, Math.Min(attempt, 15)));
        return TimeSpan.FromMilliseconds(Math.Round(ceiling * (0.5 + (random / 2))));
    }
}
