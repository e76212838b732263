using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Client.Tests;

/// <summary>
/// The hub as the client sees it, played by the test. Like the real one, Subscribe is all or nothing (one
/// refused or unavailable topic fails the call), failures arrive as the wire's HubException text, a call
/// on a connection that is not connected throws, and a dropped connection fails the calls in flight.
/// </summary>
internal sealed class FakeTopicServer : ITopicServer
{
    private const string WirePrefix = "An unexpected error occurred invoking 'Subscribe' on the server. HubException: ";
    private readonly Lock _sync = new();
    private readonly List<TaskCompletionSource> _held = [];

    public bool IsConnected { get; set; } = true;

    public List<SubscribeRequest[]> SubscribeCalls { get; } = [];

    public List<string> Unsubscribed { get; } = [];

    /// <summary>Topic → the refusal's message.</summary>
    public Dictionary<string, string> Refused { get; } = new(StringComparer.Ordinal);

    /// <summary>Topics the store cannot serve now.</summary>
    public HashSet<string> Unavailable { get; } = new(StringComparer.Ordinal);

    public Func<SubscribeRequest, SubscribeResult> Answer { get; set; } = r => Fresh(r.Topic, "e1", 0);

    /// <summary>While set, answers wait for <see cref="Release"/> (or fail on <see cref="Drop"/>).</summary>
    public bool HoldAnswers { get; set; }

    public int HeldCount
    {
        get
        {
            lock (_sync)
            {
                return _held.Count;
            }
        }
    }

    public async Task<SubscribeResult[]> SubscribeAsync(SubscribeRequest[] requests)
    {
        TaskCompletionSource? hold = null;
        lock (_sync)
        {
            if (!IsConnected)
            {
                throw new InvalidOperationException("The 'InvokeCoreAsync' method cannot be called if the connection is not active");
            }

            SubscribeCalls.Add(requests);
            if (SubscribeCalls.Count > 100)
            {
                // A client asking again and again: fail the call, which ends the loop, and the test with it.
                throw new InvalidOperationException("More than 100 subscribe calls: the client is looping.");
            }

            if (HoldAnswers)
            {
                hold = new TaskCompletionSource();
                _held.Add(hold);
            }
        }

        if (hold is not null)
        {
            await hold.Task;
        }

        if (requests.FirstOrDefault(r => Refused.ContainsKey(r.Topic)) is { } refused)
        {
            throw new HubException(WirePrefix + Refused[refused.Topic]);
        }

        if (requests.FirstOrDefault(r => Unavailable.Contains(r.Topic)) is { } down)
        {
            throw new HubException(WirePrefix + $"Subscribing to '{down.Topic}' failed: the store is unavailable. Try again.");
        }

        return [.. requests.Select(Answer)];
    }

    public Task UnsubscribeAsync(string[] topics)
    {
        Unsubscribed.AddRange(topics);
        return Task.CompletedTask;
    }

    /// <summary>Answers the held calls, oldest first.</summary>
    public void Release()
    {
        TaskCompletionSource[] held;
        lock (_sync)
        {
            held = [.. _held];
            _held.Clear();
        }

        foreach (var call in held)
        {
            call.SetResult();
        }
    }

    /// <summary>The socket dropped: calls in flight fail; the test reconnects by setting <see cref="IsConnected"/>.</summary>
    public void Drop()
    {
        TaskCompletionSource[] held;
        lock (_sync)
        {
            IsConnected = false;
            held = [.. _held];
            _held.Clear();
        }

        foreach (var call in held)
        {
            call.SetException(new IOException("Invocation canceled due to the underlying connection being closed."));
        }
    }

    public static SubscribeResult Fresh(string topic, string epoch, long seq) =>
        new(topic, epoch, seq, Recovered: false, JsonSerializer.SerializeToElement(new { alerts = Array.Empty<string>() }), []);

    public static SubscribeResult Replay(string topic, string epoch, long seq, params TopicEvent[] events) =>
        new(topic, epoch, seq, Recovered: true, null, [.. events.Select(Envelope)]);

    public static TopicEvent Event(long seq, string epoch = "e1", string topic = "breaking") =>
        new(topic, epoch, seq, $"id-{seq}", "breaking.published", DateTimeOffset.UnixEpoch, JsonSerializer.SerializeToElement(new { headline = $"Alert {seq}" }));

    private static JsonElement Envelope(TopicEvent e) => JsonSerializer.SerializeToElement(new
    {
        topic = e.Topic,
        epoch = e.Epoch,
        seq = e.Seq,
        id = e.Id,
        type = e.Type,
        at = e.At,
        data = e.Data,
    });
}
