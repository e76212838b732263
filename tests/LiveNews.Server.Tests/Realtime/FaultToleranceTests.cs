using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveNews.Client;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;
using LiveNews.Server.Store;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>Faults users meet: Redis restarting, a server node restarting. No event may be lost or doubled.</summary>
[Collection("faults")]
public sealed partial class FaultToleranceTests : OwnRedisTest
{
    [Fact]
    public async Task RedisRestart_DuringPublishStream_EverySubscriberGetsEveryEventOnceInOrder()
    {
        const int Events = 60;
        var nodeA = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var readers = new List<ChannelReaderOf>();
        foreach (var node in new[] { nodeA, nodeA, nodeB, nodeB })
        {
            var client = Track(await node.ClientAsync());
            readers.Add(new ChannelReaderOf(await client.SubscribeChannelAsync("breaking")));
        }

        using var editor = nodeA.Editor();
        var published = 0;
        var restart = Task.Run(async () =>
        {
            await Eventually.TrueAsync(() => Volatile.Read(ref published) >= Events / 3, "a third of the stream published");
            await Redis.RestartAsync();
        });

        for (var i = 1; i <= Events; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
            Volatile.Write(ref published, i);
        }

        await restart;
        foreach (var reader in readers)
        {
            await reader.ReadUntilSeqAsync(Events, seconds: 60);
            var events = reader.Events.ToList();
            Assert.Equal(Enumerable.Range(1, Events).Select(i => (long)i), events.Select(e => e.Seq));
            Assert.Equal(Enumerable.Range(1, Events).Select(i => $"Alert {i}"), events.Select(e => e.Data.GetProperty("headline").GetString()));
            Assert.DoesNotContain(reader.Updates, u => u is TopicSnapshot { StartedOver: true });
        }
    }

    // SignalR calls the hub's OnDisconnectedAsync without waiting for a call in flight: a subscribe still
    // waiting for Redis when its reader leaves must not leave the topic served (its relay kept for no one).
    [Fact]
    public async Task Subscribe_ReaderLeavesWhileItWaitsForRedis_LeavesNothingServed()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var relay = node.Services.GetRequiredService<EventRelay>();
        var subscribers = node.Services.GetRequiredService<Subscribers>();
        var connections = node.Services.GetRequiredService<HubConnections>();
        var connection = await node.ConnectAsync();

        await Redis.PauseAsync(TimeSpan.FromSeconds(3));
        var subscribing = connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live" } });
        await Eventually.TrueAsync(() => relay.ReferencesOf(Topic.Live) == 1, "the subscribe to wait for Redis");
        await connection.DisposeAsync();
        await Eventually.TrueAsync(() => connections.Count == 0, "the node to see the reader leave");
        await Assert.ThrowsAnyAsync<Exception>(() => subscribing);

        // Once Redis answers, the subscribe finishes on the node, for a connection that is gone.
        await Eventually.TrueAsync(() => relay.ReferencesOf(Topic.Live) == 0, "the topic to be served for no one", seconds: 15);
        Assert.Equal(0, subscribers.Counts().GetValueOrDefault("live"));
    }

    [Fact]
    public async Task NodeRestart_ClientReconnectsAndResumes_WithoutLossOrDuplicates()
    {
        var port = Ports.Free();
        var node = new LiveNewsNode(Redis.Configuration, Prefix, port: port);
        var other = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        var states = new List<ConnectionState>();
        client.StateChanged += state => { lock (states) { states.Add(state); } };

        using (var editor = other.Editor())
        {
            for (var i = 1; i <= 10; i++)
            {
                await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
            }

            await reader.ReadUntilSeqAsync(10);
            await node.DisposeAsync();
            for (var i = 11; i <= 20; i++)
            {
                await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
            }

            Track(new LiveNewsNode(Redis.Configuration, Prefix, port: port));
            await reader.ReadUntilSeqAsync(20, seconds: 60);
            for (var i = 21; i <= 30; i++)
            {
                await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
            }
        }

        await reader.ReadUntilSeqAsync(30);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), reader.Events.Select(e => e.Seq));
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"Alert {i}"), reader.Events.Select(e => e.Data.GetProperty("headline").GetString()));
        lock (states)
        {
            Assert.Contains(ConnectionState.Reconnecting, states);
        }
    }

    // Redis back with less than it had (restored from a backup, failed over to a replica that lagged, an
    // append-only log that lost its last second) hands out seqs again that readers hold: they would drop the
    // new events as seen until the seq passed where it had been.
    [Fact]
    public async Task RedisBackWithLessThanItHad_ReadersGetTheNextAlerts()
    {
        var (_, reader, editor, backup) = await ReaderOfAlertsWithACopyAfterTheFirstAsync(alerts: 3);
        using var _ = editor;
        await Redis.RestoreAsync(backup);
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 4" }, "alert-4");
        await reader.ReadUntilShownAsync("Alert 4");
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 5" }, "alert-5");
        await reader.ReadUntilShownAsync("Alert 5");

        // Once, from the snapshot Redis holds now: alerts 2 and 3 went with what it lost.
        var startedOver = Assert.Single(reader.Updates.OfType<TopicSnapshot>(), s => s.StartedOver);
        Assert.Contains("Alert 1", startedOver.State.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("Alert 2", startedOver.State.GetRawText(), StringComparison.Ordinal);
    }

    // No reader on the node that publishes, so no relay of the topic there: the publish itself, carrying the
    // furthest position its node saw, starts the new epoch.
    [Fact]
    public async Task RedisBackWithLessThanItHad_PublishFromANodeThatSawMore_StartsANewEpoch()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editor = node.Editor();
        using var anonymous = node.Anonymous();
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 1" }, "alert-1");
        var backup = Redis.CopyFiles();
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 2" }, "alert-2");
        var before = await anonymous.GetFromJsonAsync<JsonElement>("/api/topics/breaking");
        Assert.Equal(2, before.GetProperty("seq").GetInt64());

        await Redis.RestoreAsync(backup);
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 3" }, "alert-3");

        var after = await anonymous.GetFromJsonAsync<JsonElement>("/api/topics/breaking");
        Assert.NotEqual(before.GetProperty("epoch").GetString(), after.GetProperty("epoch").GetString());
        Assert.Equal(2, after.GetProperty("seq").GetInt64());
    }

    // The node that publishes after Redis went back knew nothing of the topic (it started since): the node
    // whose readers hold the old seqs notices on pub/sub, where a topic's seqs only ever go forward, and moves
    // the topic with its history to a new epoch.
    [Fact]
    public async Task RedisBackWithLessThanItHad_PublishFromANewNode_ReadersElsewhereGetIt()
    {
        var (nodeA, reader) = await ReaderOfThreeAlertsThenRedisRewoundAsync(keep: 1);

        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editorB = nodeB.Editor();
        await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 4" }, "alert-4");
        await reader.ReadUntilShownAsync("Alert 4");
        await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 5" }, "alert-5");
        await reader.ReadUntilShownAsync("Alert 5");
    }

    // A node that serves the topic notices when it catches up after the reconnect, before anyone publishes:
    // then even the first alert from a node that knew nothing of the topic reaches its readers at once.
    [Fact]
    public async Task RedisBackWithLessThanItHad_CaughtUpBeforeThePublish_FirstAlertFromANewNodeArrives()
    {
        var (nodeA, reader, editor, backup) = await ReaderOfAlertsWithACopyAfterTheFirstAsync(alerts: 2);
        using var anonymous = nodeA.Anonymous();
        using (editor)
        {
            var before = (await anonymous.GetFromJsonAsync<JsonElement>("/api/topics/breaking")).GetProperty("epoch").GetString();
            await Redis.RestoreAsync(backup);
            await Eventually.TrueAsync(
                async () =>
                {
                    using var response = await anonymous.GetAsync("/api/topics/breaking");
                    return response.IsSuccessStatusCode
                        && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("epoch").GetString() != before;
                },
                "the node to start the topic's new epoch when it catches up");
        }

        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editorB = nodeB.Editor();
        await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 3" }, "alert-3");
        await reader.ReadUntilShownAsync("Alert 3");
    }

    // While the node was not subscribed, a node that knew nothing of the topic published at seqs Redis handed
    // out again, up to where the first node's cursor was: its catch-up finds the head where it left off, with
    // other events there.
    [Fact]
    public async Task RedisBackWithLessThanItHad_RepublishedUpToTheCursorUnheard_CatchUpStillDeliversThem()
    {
        var (nodeA, reader) = await ReaderOfThreeAlertsThenRedisRewoundAsync(keep: 1);

        // Node A hears nothing from here, as while its subscription was down.
        await nodeA.Services.GetRequiredService<RedisStore>().Connection.GetSubscriber().UnsubscribeAllAsync();
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using (var editorB = nodeB.Editor())
        {
            await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 4" }, "alert-4");
            await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 5" }, "alert-5");
        }

        nodeA.Services.GetRequiredService<EventRelay>().CatchUp();
        await reader.ReadUntilShownAsync("Alert 5");
        Assert.Contains(reader.Updates, update => ChannelReaderOf.Shows(update, "Alert 4"));
    }

    // Redis lost only the last event: the new node's first alert takes the very seq the reader holds.
    [Fact]
    public async Task RedisBackByOneEvent_PublishFromANewNode_ReadersElsewhereGetIt()
    {
        var (_, reader) = await ReaderOfThreeAlertsThenRedisRewoundAsync(keep: 2);

        await PublishFromANewNodeAsync("Alert 4");
        await reader.ReadUntilShownAsync("Alert 4");
    }

    // The node started serving the topic after its last alert, and relayed nothing since: it remembers the
    // event at its cursor all the same, where Redis, back by one event, hands out the seq again.
    [Fact]
    public async Task RedisBackByOneEvent_NodeThatRelayedNothingYet_ReadersGetTheNextAlert()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        await PostThreeAlertsAsync(node);
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        await reader.ReadUntilShownAsync("Alert 3");
        await RewindAsync(node.Services.GetRequiredService<RedisNames>().Topic(Topic.Breaking), keep: 2);

        await PublishFromANewNodeAsync("Alert 4");
        await reader.ReadUntilShownAsync("Alert 4");
    }

    // The relay filled a gap from history beyond what pub/sub brought it (alerts 4 and 5, whose messages it
    // never heard); then Redis went back to alert 4 and a node that knew nothing published at seq 5. Pub/sub
    // brings the seq at the relay's cursor, with another event: only its id tells.
    [Fact]
    public async Task RedisBackBehindAGapFill_PublishFromANewNode_ReadersElsewhereGetIt()
    {
        var (nodeA, reader) = await ReaderOfThreeAlertsAsync();
        var keys = nodeA.Services.GetRequiredService<RedisNames>().Topic(Topic.Breaking);
        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis.Configuration))
        {
            // Alerts 4 and 5 reach history and the topic's position, not pub/sub (as while a node's subscription
            // was down): copies of alert 3 with their own seq, id and headline.
            var db = admin.GetDatabase();
            var third = (string)(await db.ListGetByIndexAsync(keys.History, 0))!;
            foreach (var seq in new[] { 4, 5 })
            {
                var copy = third.Replace("\"seq\":3,", $"\"seq\":{seq},", StringComparison.Ordinal)
                    .Replace("Alert 3", $"Alert {seq}", StringComparison.Ordinal);
                copy = EventId().Replace(copy, $"\"id\":\"copied-{seq}\"", count: 1);
                await db.ListLeftPushAsync(keys.History, copy);
            }

            await db.HashSetAsync(keys.Meta, "seq", 5);
        }

        nodeA.Services.GetRequiredService<EventRelay>().CatchUp();
        await reader.ReadUntilSeqAsync(5);
        await RewindAsync(keys, keep: 4);

        await PublishFromANewNodeAsync("Alert 6");
        await reader.ReadUntilShownAsync("Alert 6");
    }

    // The checks for a Redis that went back must not fire on an ordinary topic: a removal rewrites history
    // (tombstones), a catch-up compares the event at its cursor, and pub/sub may deliver a message twice, the
    // last one or an older one. A new epoch would send every reader back to a fresh snapshot.
    [Fact]
    public async Task OrdinaryTopic_CatchUpsAndRepeatedMessages_KeepItsEpoch()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        using var editor = node.Editor();
        using var anonymous = node.Anonymous();
        var first = await (await editor.PostJsonAsync("/api/breaking", new { headline = "Alert 1" })).Content.ReadFromJsonAsync<JsonElement>();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Alert 2" })).EnsureSuccessStatusCode();
        (await editor.DeleteAsync($"/api/breaking/{first.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();
        await reader.ReadUntilSeqAsync(3);
        var epoch = (await anonymous.GetFromJsonAsync<JsonElement>("/api/topics/breaking")).GetProperty("epoch").GetString();

        var relay = node.Services.GetRequiredService<EventRelay>();
        relay.CatchUp();
        var names = node.Services.GetRequiredService<RedisNames>();
        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis.Configuration))
        {
            var db = admin.GetDatabase();
            var channel = StackExchange.Redis.RedisChannel.Literal(names.EventsChannelName(Topic.Breaking));
            await db.PublishAsync(channel, await db.ListGetByIndexAsync(names.Topic(Topic.Breaking).History, 0));
            await db.PublishAsync(channel, await db.ListGetByIndexAsync(names.Topic(Topic.Breaking).History, 1));
        }

        relay.CatchUp();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Alert 3" })).EnsureSuccessStatusCode();
        await reader.ReadUntilSeqAsync(4);

        Assert.Equal(epoch, (await anonymous.GetFromJsonAsync<JsonElement>("/api/topics/breaking")).GetProperty("epoch").GetString());
        Assert.DoesNotContain(reader.Updates, update => update is TopicSnapshot { StartedOver: true });
        Assert.Equal([1L, 2, 3, 4], reader.Events.Select(e => e.Seq));
    }

    // The node's subscription was down while another node published more than history holds: its catch-up
    // cannot fill the gap, and its readers are told at once (the newest event, then a fresh snapshot), not left
    // on what they had until the topic's next publish, hours later on breaking.
    [Fact]
    public async Task CatchUp_MissedMoreThanHistoryHolds_ReadersStartOverWithoutAnotherPublish()
    {
        var settings = new Dictionary<string, string?> { ["Bus:HistoryLength"] = "3" };
        var nodeA = Track(new LiveNewsNode(Redis.Configuration, Prefix, settings));
        var client = Track(await nodeA.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        using (var editorA = nodeA.Editor())
        {
            await editorA.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 1" }, "alert-1");
        }

        await reader.ReadUntilSeqAsync(1);
        await nodeA.Services.GetRequiredService<RedisStore>().Connection.GetSubscriber().UnsubscribeAllAsync();
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix, settings));
        using (var editorB = nodeB.Editor())
        {
            for (var i = 2; i <= 6; i++)
            {
                await editorB.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
            }
        }

        nodeA.Services.GetRequiredService<EventRelay>().CatchUp();

        await reader.ReadUntilShownAsync("Alert 6");
        var startedOver = Assert.Single(reader.Updates.OfType<TopicSnapshot>(), s => s.StartedOver);
        Assert.Contains("Alert 2", startedOver.State.GetRawText(), StringComparison.Ordinal);
    }

    // A new epoch sends every reader back to a snapshot: one event of it tells them. Pushing its whole history
    // (up to Bus:HistoryLength events) to every reader only for each to drop it could fill their outboxes.
    [Fact]
    public async Task EpochRenewedOnCatchUp_ReadersArePushedOnlyTheNewestEventOfIt()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var connection = await node.ConnectAsync();
        var received = new ConcurrentQueue<(string Epoch, long Seq)>();
        connection.On<JsonElement>("event", e => received.Enqueue((e.GetProperty("epoch").GetString()!, e.GetProperty("seq").GetInt64())));
        await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });
        using var editor = node.Editor();
        for (var i = 1; i <= 4; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
        }

        await Eventually.TrueAsync(() => received.Count == 4, "alerts 1-4");
        var first = received.First().Epoch;
        await RewindAsync(node.Services.GetRequiredService<RedisNames>().Topic(Topic.Breaking), keep: 3);

        node.Services.GetRequiredService<EventRelay>().CatchUp();
        await Eventually.TrueAsync(() => received.Any(e => e.Epoch != first), "the new epoch");
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 5" }, "alert-5");

        await Eventually.TrueAsync(() => received.Any(e => e.Epoch != first && e.Seq == 4), "the alert after the renewal");
        Assert.Equal([3L, 4], received.Where(e => e.Epoch != first).Select(e => e.Seq));
    }

    // A node with a reader of breaking who got the given number of alerts, and a copy of Redis' files taken
    // after the first one.
    private async Task<(LiveNewsNode Node, ChannelReaderOf Reader, HttpClient Editor, string Copy)> ReaderOfAlertsWithACopyAfterTheFirstAsync(int alerts)
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        var editor = node.Editor();
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = "Alert 1" }, "alert-1");
        await reader.ReadUntilSeqAsync(1);
        var copy = Redis.CopyFiles();
        for (var i = 2; i <= alerts; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
        }

        await reader.ReadUntilSeqAsync(alerts);
        return (node, reader, editor, copy);
    }

    // A node with a reader of breaking who got alerts 1-3; then Redis holds what a copy taken after the first
    // `keep` held (its position and history), with no connection dropping (a failover behind a proxy).
    private async Task<(LiveNewsNode Node, ChannelReaderOf Reader)> ReaderOfThreeAlertsThenRedisRewoundAsync(int keep)
    {
        var (node, reader) = await ReaderOfThreeAlertsAsync();
        await RewindAsync(node.Services.GetRequiredService<RedisNames>().Topic(Topic.Breaking), keep);
        return (node, reader);
    }

    private async Task<(LiveNewsNode Node, ChannelReaderOf Reader)> ReaderOfThreeAlertsAsync()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var client = Track(await node.ClientAsync());
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        await PostThreeAlertsAsync(node);
        await reader.ReadUntilSeqAsync(3);
        return (node, reader);
    }

    private static async Task PostThreeAlertsAsync(LiveNewsNode node)
    {
        using var editor = node.Editor();
        for (var i = 1; i <= 3; i++)
        {
            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"alert-{i}");
        }
    }

    // A node started since, which knew nothing of the topic, publishes the alert.
    private async Task PublishFromANewNodeAsync(string headline)
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        using var editor = node.Editor();
        await editor.PostUntilAcceptedAsync("/api/breaking", new { headline }, headline.ToLowerInvariant().Replace(' ', '-'));
    }

    // Redis holds the topic as it was after its first `keep` events: position and history.
    private async Task RewindAsync(TopicKeys keys, int keep)
    {
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        var db = admin.GetDatabase();
        await db.HashSetAsync(keys.Meta, "seq", keep);
        await db.ListTrimAsync(keys.History, -keep, -1); // newest first
    }

    // The envelope's own id: the first "id" of an envelope, before its data.
    [GeneratedRegex("\"id\":\"[^\"]*\"")]
    private static partial Regex EventId();
}
