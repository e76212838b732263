using LiveNews.Server.Realtime;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Deploy;

/// <summary>
/// Drains the node when the host begins to stop (SIGTERM): stop accepting, let the work in flight finish
/// within <c>Realtime:DrainTimeout</c>, then send every hub connection away with "reconnect", while the
/// relay still runs, so no client misses an event: it resumes from its position on another node.
/// </summary>
/// <remarks>
/// It runs inside <see cref="IHostApplicationLifetime.ApplicationStopping"/> and blocks it on purpose:
/// SignalR closes every connection in its own ApplicationStopping callback (without a close message, so
/// clients would not know to come back), Kestrel stops listening and hosted services (the relay, the share
/// worker) stop only after that callback returns. Callbacks run newest first, so this one is registered
/// once the application has started, after SignalR's.
/// </remarks>
internal sealed class DrainOnShutdown(
    Drain drain,
    HubConnections hubConnections,
    IHostApplicationLifetime lifetime,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    ILogger<DrainOnShutdown> logger) : IHostedService
{
    private CancellationTokenRegistration _started;
    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _started = lifetime.ApplicationStarted.Register(() => _stopping = lifetime.ApplicationStopping.Register(Run));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _started.Dispose();
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    private void Run()
    {
        var started = time.GetTimestamp();
        var timeout = options.Value.DrainTimeout;
        var idle = drain.Start();
        DeployLog.DrainStarted(logger, timeout, drain.InFlight);
        try
        {
            idle.WaitAsync(timeout, time).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            DeployLog.DrainTimedOut(logger, timeout, drain.InFlight);
        }

        // A socket that does not take the close message in time is cut without it (the client reconnects anyway).
        using var closing = new CancellationTokenSource(DeployServiceCollectionExtensions.CloseTimeout, time);
        var closed = hubConnections.CloseForReconnectAsync(closing.Token).GetAwaiter().GetResult();
        DeployLog.Drained(logger, (long)time.GetElapsedTime(started).TotalMilliseconds, closed);
    }
}
