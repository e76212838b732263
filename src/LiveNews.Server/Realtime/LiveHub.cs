using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

/// <summary>
/// <c>/hubs/live</c>: readers subscribe to topics and receive <c>event(envelope)</c> pushes. A subscription
/// answers with the snapshot, or with exactly the events missed since a given position.
/// </summary>
internal sealed class LiveHub(EventBus bus, EventRelay relay, IOptions<RealtimeOptions> options, TimeProvider time, LiveNewsMetrics metrics, ILogger<LiveHub> logger) : Hub
{
    private static readonly object TopicsKey = new();

    public async Task<SubscribeResult[]> Subscribe(SubscribeRequest[] requests)
    {
        if (requests is null || requests.Length == 0)
        {
            throw Refuse("Subscribe needs at least one topic.");
        }

        var subscribed = SubscribedTopics();
        var topics = new Topic[requests.Length];
        var added = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Length; i++)
        {
            if (requests[i] is null)
            {
                throw Refuse("A subscribe request is null.");
            }

            if (!Topic.TryParse(requests[i].Topic, out var topic, out var error))
            {
                throw Refuse(error);
            }

            if (!topic.Value.IsPublic && !EditorScopes.IsEditor(Context.User))
            {
                throw Refuse($"Topic '{topic.Value.Name}' is for editors only.");
            }

            topics[i] = topic.Value;
            if (!subscribed.Contains(topic.Value))
            {
                added.Add(topic.Value.Name);
            }
        }

        var max = options.Value.MaxTopicsPerConnection;
        if (subscribed.Count + added.Count > max)
        {
            throw Refuse($"At most {max} topics per connection: {subscribed.Count} subscribed, {added.Count} more asked.");
        }

        var results = new SubscribeResult[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var topic = topics[i];
            try
            {
                if (subscribed.Add(topic))
                {
                    // Join first, then read: an event published after the read reaches this connection;
                    // one published before it is part of the answer (clients drop seqs they have).
                    await Groups.AddToGroupAsync(Context.ConnectionId, topic.Name);
                    await relay.ServeAsync(topic);
                    metrics.Subscribed(topic.Kind.ToString(), 1);
                }

                results[i] = await ReadAsync(topic, requests[i]);
                RealtimeLog.Subscribed(logger, Context.ConnectionId, topic.Name, results[i].Recovered);
            }
            catch (Exception ex) when (ex is not HubException)
            {
                RealtimeLog.SubscribeFailed(logger, Context.ConnectionId, topic.Name, ex);
                throw new HubException($"Subscribing to '{topic.Name}' failed: the store is unavailable. Try again.");
            }
        }

        return results;
    }

    public async Task Unsubscribe(string[] topics)
    {
        var subscribed = SubscribedTopics();
        foreach (var name in topics ?? [])
        {
            if (Topic.TryParse(name, out var topic, out _) && subscribed.Remove(topic.Value))
            {
                await Groups.RemoveFromGroupAsync(Context.ConnectionId, topic.Value.Name);
                relay.Release(topic.Value);
                metrics.Subscribed(topic.Value.Kind.ToString(), -1);
            }
        }
    }

    public override Task OnConnectedAsync()
    {
        metrics.ConnectionOpened();
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        metrics.ConnectionClosed();
        foreach (var topic in SubscribedTopics())
        {
            relay.Release(topic);
            metrics.Subscribed(topic.Kind.ToString(), -1);
        }

        return Task.CompletedTask;
    }

    private async Task<SubscribeResult> ReadAsync(Topic topic, SubscribeRequest request)
    {
        if (request.Epoch is not null && request.Seq is { } seq)
        {
            var resumed = await bus.ReadAsync(topic, seq, withSnapshot: false);
            // A position in a topic nothing was published on yet ("" at 0) resumes into whatever history began since.
            var recovered = resumed.HistoryFound && (resumed.Epoch == request.Epoch || (request.Epoch.Length == 0 && seq == 0));
            metrics.Resumed(recovered);
            if (recovered)
            {
                return new SubscribeResult(topic.Name, resumed.Epoch, resumed.Seq, Recovered: true, Snapshot: null, resumed.Events);
            }
        }

        var fresh = await bus.ReadAsync(topic, afterSeq: null, withSnapshot: true);
        return new SubscribeResult(topic.Name, fresh.Epoch, fresh.Seq, Recovered: false, Snapshot.Write(topic, fresh, time.GetUtcNow()), []);
    }

    private HashSet<Topic> SubscribedTopics()
    {
        if (Context.Items.TryGetValue(TopicsKey, out var value) && value is HashSet<Topic> topics)
        {
            return topics;
        }

        topics = [];
        Context.Items[TopicsKey] = topics;
        return topics;
    }

    private HubException Refuse(string reason)
    {
        RealtimeLog.Refused(logger, Context.ConnectionId, reason);
        return new HubException(reason);
    }
}
