using System.Diagnostics;
using LiveNews.Client;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Xunit.Abstractions;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>
/// Two nodes behind a load balancer, Redis with append-only persistence, subscribers on two topics and a
/// steady stream of publishes, while Redis is killed and restarted, a node is killed (its clients move to
/// the other) and client connections are cut at random. Every subscriber must see every event of every
/// topic exactly once and in order. Bounded: a fixed number of events, deadlines on every wait.
/// </summary>
[Collection("faults")]
public sealed class ChaosTests(ITestOutputHelper output) : OwnRedisTest
{
    private static readonly string[] Topics = ["breaking", "article:chaos"];

    private static int Subscribers => int.TryParse(Environment.GetEnvironmentVariable("LIVENEWS_CHAOS_SUBSCRIBERS"), out var n) ? n : 60;

    private static int EventsPerTopic => int.TryParse(Environment.GetEnvironmentVariable("LIVENEWS_CHAOS_EVENTS"), out var n) ? n : 80;

    [Fact]
    public async Task Chaos_RedisRestartNodeKillAndDroppedClients_EverySubscriberSeesEveryEventOnceInOrder()
    {
        var portA = Ports.Free();
        var nodeA = new LiveNewsNode(Redis.Configuration, Prefix, Settings(), port: portA);
        var nodeB = Track(new LiveNewsNode(Redis.Configuration, Prefix, Settings()));
        var balancer = Track(new LoopbackBalancer(nodeA.BaseAddress, nodeB.BaseAddress));
        using (var setup = nodeB.Editor())
        {
            (await setup.PutJsonAsync("/api/articles/chaos", new { headline = "Chaos", url = "https://news.example/chaos" })).EnsureSuccessStatusCode();
        }

        var readers = new List<(string Topic, ChannelReaderOf Reader)>();
        var reconnects = 0;
        for (var i = 0; i < Subscribers; i++)
        {
            var client = Track(new LiveNewsClient(new Uri(balancer.Address, "/hubs/live"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            }));
            client.StateChanged += state =>
            {
                if (state == ConnectionState.Reconnecting)
                {
                    Interlocked.Increment(ref reconnects);
                }
            };
            await client.StartAsync();
            foreach (var topic in Topics)
            {
                readers.Add((topic, new ChannelReaderOf(await client.SubscribeChannelAsync(topic))));
            }
        }

        var baseSeq = new Dictionary<string, long> { ["breaking"] = 0, ["article:chaos"] = 1 };
        var stopwatch = Stopwatch.StartNew();
        var faults = new List<string>();
        using var editor = new HttpClient { BaseAddress = balancer.Address };
        editor.DefaultRequestHeaders.Add("X-Api-Key", LiveNewsNode.EditorKey);
        for (var i = 1; i <= EventsPerTopic; i++)
        {
            if (i == EventsPerTopic / 4)
            {
                await Redis.RestartAsync();
                faults.Add($"{stopwatch.Elapsed.TotalSeconds:0.0}s Redis killed and restarted");
            }
            else if (i == EventsPerTopic / 2)
            {
                balancer.Backends.Remove(nodeA.BaseAddress);
                await nodeA.DisposeAsync();
                faults.Add($"{stopwatch.Elapsed.TotalSeconds:0.0}s node A killed");
            }
            else if (i == EventsPerTopic * 3 / 4)
            {
                nodeA = Track(new LiveNewsNode(Redis.Configuration, Prefix, Settings(), port: portA));
                balancer.Backends.Add(nodeA.BaseAddress);
                var dropped = balancer.DropRandom(Subscribers / 3);
                faults.Add($"{stopwatch.Elapsed.TotalSeconds:0.0}s node A back, {dropped} client connections cut");
            }

            await editor.PostUntilAcceptedAsync("/api/breaking", new { headline = $"Alert {i}" }, $"chaos-b-{i}");
            await editor.PostUntilAcceptedAsync("/api/articles/chaos/entries", new { text = $"Entry {i}" }, $"chaos-e-{i}");
        }

        var published = stopwatch.Elapsed;
        var longestWait = TimeSpan.Zero;
        foreach (var (topic, reader) in readers)
        {
            var waited = Stopwatch.StartNew();
            await reader.ReadUntilSeqAsync(baseSeq[topic] + EventsPerTopic, seconds: 90);
            longestWait = waited.Elapsed > longestWait ? waited.Elapsed : longestWait;
        }

        var restarts = readers.Sum(r => r.Reader.Updates.OfType<TopicSnapshot>().Count(s => s.StartedOver));
        output.WriteLine($"chaos: {Subscribers} subscribers x {Topics.Length} topics, {EventsPerTopic * Topics.Length} events published in {published.TotalSeconds:0.0}s, "
            + $"{readers.Sum(r => r.Reader.Events.Count())} deliveries, {reconnects} client reconnects, {restarts} start-overs, longest catch-up after the stream {longestWait.TotalSeconds:0.0}s");
        foreach (var fault in faults)
        {
            output.WriteLine(fault);
        }

        foreach (var (topic, reader) in readers)
        {
            var events = reader.Events.ToList();
            var expected = Enumerable.Range(1, EventsPerTopic).Select(i => baseSeq[topic] + i);
            Assert.Equal(expected, events.Select(e => e.Seq));
            var field = topic == "breaking" ? "headline" : "text";
            var prefix = topic == "breaking" ? "Alert" : "Entry";
            Assert.Equal(Enumerable.Range(1, EventsPerTopic).Select(i => $"{prefix} {i}"), events.Select(e => e.Data.GetProperty(field).GetString()));
        }

        Assert.Equal(0, restarts);
        Assert.True(reconnects > 0, "the chaos should have made clients reconnect");
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["RateLimits:ConnectionsPerMinute"] = "100000",
        ["RateLimits:HubInvocationsPerMinute"] = "100000",
    };
}
