using System.Net;
using System.Text.RegularExpressions;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Operations;

/// <summary><c>/metrics</c> tells operators what the node does, in Prometheus' text format.</summary>
/// <remarks>
/// The node is a server process of its own: every node inside the test process exports the one LiveNews
/// meter, so only a process of its own shows one node's exact figures, as a deployed node does.
/// </remarks>
[Collection("redis")]
public sealed class MetricsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Metrics_AfterPublishAndDelivery_ReportConnectionsEventsAndLag()
    {
        using var node = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Redis:Configuration"] = redis.Configuration, ["Redis:KeyPrefix"] = Eventually.Prefix() });
        var reader = new HubReader(new Uri($"ws://127.0.0.1:{node.Port}/hubs/live"), "breaking", IPAddress.Loopback);
        await using var _ = reader;
        await reader.StartAsync();
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Counted" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => reader.Seqs.Count == 1, "the alert to reach the reader");
        using var http = node.Anonymous();

        // The exporter caches a scrape for a moment: wait for a scrape taken after everything was counted.
        var text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await http.GetStringAsync("/metrics");
            return Regex.IsMatch(text, @"livenews_events_relayed_total(\{[^}]*\})? 1\b");
        }, "the relayed event in /metrics");

        Assert.Matches(@"livenews_events_published_total\{[^}]*topic=""Breaking""[^}]*\} 1\b", text);
        Assert.Matches(@"livenews_connections(\{[^}]*\})? 1\b", text);
        Assert.Matches(@"livenews_subscriptions\{[^}]*topic=""Breaking""[^}]*\} 1\b", text);
        Assert.Matches(@"livenews_delivery_lag_milliseconds_count(\{[^}]*\})? 1\b", text);
    }
}
