using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LiveNews.Server.Operations;

/// <summary>
/// Every metric and trace source LiveNews emits, in one place. Exposed for Prometheus at <c>/metrics</c>
/// (names there get <c>_total</c>, unit suffixes and underscores).
/// </summary>
internal sealed class LiveNewsMetrics : IDisposable
{
    public const string MeterName = "LiveNews";

    public static readonly ActivitySource Tracing = new(MeterName);

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _connections;
    private readonly UpDownCounter<long> _subscriptions;
    private readonly Counter<long> _published;
    private readonly Counter<long> _relayed;
    private readonly Histogram<double> _lag;
    private readonly Counter<long> _gapsFilled;
    private readonly Counter<long> _resumes;
    private readonly Counter<long> _shares;
    private readonly Counter<long> _slowReaders;
    private readonly Counter<long> _pushes;
    private readonly ConcurrentDictionary<string, int> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _accountStates = new(StringComparer.Ordinal);

    public LiveNewsMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _connections = _meter.CreateUpDownCounter<long>("livenews.connections", description: "Hub connections and event streams (/sse) open on this node");
        _subscriptions = _meter.CreateUpDownCounter<long>("livenews.subscriptions", description: "Topic subscriptions on this node, by topic kind");
        _published = _meter.CreateCounter<long>("livenews.events.published", description: "Events published through this node, by topic kind");
        _relayed = _meter.CreateCounter<long>("livenews.events.relayed", description: "Events this node pushed to its subscribers (once per event, whatever the number of connections)");
        _lag = _meter.CreateHistogram<double>("livenews.delivery.lag", unit: "ms", description: "From publication to this node handing the event to its connections");
        _gapsFilled = _meter.CreateCounter<long>("livenews.gaps.filled", description: "Events this node filled in from history after a gap or reconnect");
        _resumes = _meter.CreateCounter<long>("livenews.resumes", description: "Subscriptions with a position, by whether the missed events could be replayed");
        _shares = _meter.CreateCounter<long>("livenews.shares", description: "Share job state changes, by account and state");
        _pushes = _meter.CreateCounter<long>("livenews.pushes", description: "Web Push messages this node sent, by outcome (sent, gone, failed, expired: older than Push:MessageTimeToLive when its turn came, withdrawn: retracted before it was sent, retracted-after: a retraction sent again after a headline accepted once the alert was retracted, retraction-after-failed: that look-up or send failed)");
        _slowReaders = _meter.CreateCounter<long>("livenews.slow_readers.disconnected", description: "Connections closed because pushes waiting for them passed Realtime:MaxBufferedBytesPerConnection");
        _meter.CreateObservableGauge("livenews.breaker.open", () => _breakers.Select(b => new Measurement<int>(b.Value, new KeyValuePair<string, object?>("account", b.Key))),
            description: "1 while an account's circuit breaker is open");
        _meter.CreateObservableGauge("livenews.social.account.state", () => _accountStates.Select(a => new Measurement<int>(1,
                new KeyValuePair<string, object?>("account", a.Key), new KeyValuePair<string, object?>("state", a.Value))),
            description: "A social account's health, as its state label (ok, expiring, expired, failing, breaker-open)");
    }

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);

    public void Subscribed(string topicKind, int delta) => _subscriptions.Add(delta, new KeyValuePair<string, object?>("topic", topicKind));

    public void Published(string topicKind) => _published.Add(1, new KeyValuePair<string, object?>("topic", topicKind));

    public void Relayed(DateTimeOffset publishedAt, DateTimeOffset now)
    {
        _relayed.Add(1);
        _lag.Record(Math.Max(0, (now - publishedAt).TotalMilliseconds));
    }

    public void SlowReaderDisconnected() => _slowReaders.Add(1);

    public void Pushed(string outcome) => _pushes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void GapFilled(int events) => _gapsFilled.Add(events);

    public void Resumed(bool recovered) => _resumes.Add(1, new KeyValuePair<string, object?>("recovered", recovered));

    public void ShareChanged(string account, string state) =>
        _shares.Add(1, new KeyValuePair<string, object?>("account", account), new KeyValuePair<string, object?>("state", state));

    public void BreakerChanged(string account, bool open) => _breakers[account] = open ? 1 : 0;

    public void AccountState(string account, string state) => _accountStates[account] = state;

    public void Dispose() => _meter.Dispose();
}
