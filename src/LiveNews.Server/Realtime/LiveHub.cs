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
internal sealed class LiveHub(
    SharedReads reads,
    EventRelay relay,
    Subscribers subscribers,
    HubConnections connections,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    LiveNewsMetrics metrics,
    ILogger<LiveHub> logger) : Hub
{
    /// <summary>The word clients look for to tell a failure worth retrying from a refusal.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>
    /// Subscribes to every topic asked, or to none: a call that fails leaves the connection exactly as it
    /// was (pushes, relay counts, topics), so the client can retry it whole. Each topic is read once.
    /// </summary>
    public async Task<SubscribeResult[]> Subscribe(SubscribeRequest[] requests)
    {
        var max = options.Value.MaxTopicsPerConnection;
        if (requests is null || requests.Length == 0)
        {
            throw Refuse("Subscribe needs at least one topic.");
        }

        if (requests.Length > max)
        {
            throw Refuse($"At most {max} topics per connection: {requests.Length} asked in one call.");
        }

        var open = Open();
        var topics = new Topic[requests.Length];
        var asked = new HashSet<Topic>();
        var added = 0;
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

            if (!TopicAccess.CanRead(Context.User, topic.Value))
            {
                throw Refuse(TopicAccess.Refusal(topic.Value));
            }

            if (requests[i].Seq is < 0)
            {
                throw Refuse($"Position {requests[i].Seq} of topic '{topic.Value.Name}' is negative: a seq saved from an event is 0 or more.");
            }

            if (!asked.Add(topic.Value))
            {
                throw Refuse($"Topic '{topic.Value.Name}' is asked twice in one call: ask each topic once.");
            }

            topics[i] = topic.Value;
            added += open.TryGetJoinedAt(topic.Value, out _) ? 0 : 1;
        }

        var count = open.TopicCount;
        if (count + added > max)
        {
            throw Refuse($"At most {max} topics per connection: {count} subscribed, {added} more asked.");
        }

        var joined = new List<(Topic Topic, long JoinedAt, bool Served)>();
        try
        {
            var results = new SubscribeResult[requests.Length];
            for (var i = 0; i < requests.Length; i++)
            {
                var topic = topics[i];
                var joinedBefore = open.TryGetJoinedAt(topic, out var joinedAt);
                if (joinedBefore)
                {
                    // Joined before: a read since the join covers the pushes, but the answer must be read after this
                    // call: a client drops what it held before asking, in an epoch the answer is not in, as of an
                    // epoch the topic left; a read shared from before the call could be of that epoch still.
                    joinedAt = reads.Now();
                }
                else
                {
                    // Join first, then read: an event published after the read reaches this connection;
                    // one published before it is part of the answer, and is not pushed (Answered).
                    // A relay this starts hands over only what follows its start: the read is to begin after it.
                    subscribers.Join(Context.ConnectionId, topic, holdUntilAnswered: true);
                    joined.Add((topic, 0, false));
                    await relay.ServeAsync(topic);
                    joinedAt = reads.Now();
                    joined[^1] = (topic, joinedAt, true);
                }

                results[i] = await ReadAsync(topic, requests[i], joinedAt);
                if (!joinedBefore)
                {
                    subscribers.Answered(Context.ConnectionId, topic, new TopicPosition(results[i].Epoch, results[i].Seq), relay.HandedOver(topic));
                }
            }

            if (!open.TryAdd(joined.Select(j => (j.Topic, j.JoinedAt))))
            {
                Undo(joined);
                // Worded as retryable: a client that still took itself for connected must not drop the topics for good.
                throw new HubException($"The connection closed while subscribing: this node is {Unavailable} to it. Nothing changed; try again.");
            }

            foreach (var (topic, _, _) in joined)
            {
                metrics.Subscribed(topic.Kind.ToString(), 1);
            }

            RealtimeLog.Subscribed(logger, Context.ConnectionId, requests.Length);
            return results;
        }
        catch (Exception ex) when (ex is not HubException)
        {
            Undo(joined);
            RealtimeLog.SubscribeFailed(logger, Context.ConnectionId, ex);
            throw new HubException($"Subscribing failed: the store is {Unavailable}. Nothing changed; try again.");
        }
    }

    public void Unsubscribe(string[] topics)
    {
        var open = Open();
        foreach (var name in topics ?? [])
        {
            if (Topic.TryParse(name, out var topic, out _) && open.Remove(topic.Value))
            {
                subscribers.Leave(Context.ConnectionId, topic.Value);
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
        foreach (var topic in Open().Close())
        {
            subscribers.Leave(Context.ConnectionId, topic);
            relay.Release(topic);
            metrics.Subscribed(topic.Kind.ToString(), -1);
        }

        return Task.CompletedTask;
    }

    private async Task<SubscribeResult> ReadAsync(Topic topic, SubscribeRequest request, long joinedAt)
    {
        if (request.Epoch is not null && request.Seq is { } seq)
        {
            var resumed = await reads.ReadAsync(topic, seq, joinedAt);

            // A position in a topic nothing was published on yet ("" at 0) resumes into whatever history began since.
            var recovered = resumed.HistoryFound && (resumed.Epoch == request.Epoch || (request.Epoch.Length == 0 && seq == 0));
            metrics.Resumed(recovered);
            if (recovered)
            {
                return new SubscribeResult(topic.Name, resumed.Epoch, resumed.Seq, Recovered: true, Snapshot: null, resumed.Events);
            }
        }

        var fresh = await reads.ReadAsync(topic, afterSeq: null, joinedAt);
        return new SubscribeResult(topic.Name, fresh.Epoch, fresh.Seq, Recovered: false, Snapshot.Write(topic, fresh, time.GetUtcNow()), []);
    }

    // Leaves what a subscribe that did not complete had joined.
    private void Undo(List<(Topic Topic, long JoinedAt, bool Served)> joined)
    {
        foreach (var (topic, _, served) in joined)
        {
            subscribers.Leave(Context.ConnectionId, topic);
            if (served)
            {
                relay.Release(topic);
            }
        }
    }

    /// <summary>What the node keeps for this connection: its topics, each with the moment it joined their pushes.</summary>
    private OpenConnection Open() =>
        connections.Find(Context.ConnectionId)
        ?? throw new InvalidOperationException($"Hub connection {Context.ConnectionId} is not open on this node (LiveHubLifetimeManager keeps it from connect to disconnect).");

    private HubException Refuse(string reason)
    {
        RealtimeLog.Refused(logger, Context.ConnectionId, reason);
        return new HubException(reason);
    }
}
