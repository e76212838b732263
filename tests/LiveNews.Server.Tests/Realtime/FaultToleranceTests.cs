using System.Text.Json;
using LiveNews.Client;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>Faults users meet: Redis restarting, a server node restarting. No event may be lost or doubled.</summary>
[Collection("faults")]
public sealed class FaultToleranceTests : OwnRedisTest
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
}
