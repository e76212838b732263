using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Operations;

/// <summary><c>/metrics</c> tells operators what the node does, in Prometheus' text format.</summary>
[Collection("redis")]
public sealed class MetricsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Metrics_AfterPublishAndDelivery_ReportConnectionsEventsAndLag()
    {
        await using var node = new LiveNewsNode(redis.Configuration, Eventually.Prefix());
        await using var client = await node.ClientAsync();
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Counted" })).EnsureSuccessStatusCode();
        await reader.EventsUntilAsync(1);
        using var http = node.Anonymous();

        // The exporter caches a scrape for a moment: wait for a scrape taken after everything was counted.
        var text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await http.GetStringAsync("/metrics");
            return text.Contains("livenews_events_relayed_total", StringComparison.Ordinal)
                && System.Text.RegularExpressions.Regex.IsMatch(text, @"livenews_events_published_total\{[^}]*topic=""Breaking""[^}]*\} [1-9]")
                && System.Text.RegularExpressions.Regex.IsMatch(text, @"livenews_subscriptions\{[^}]*topic=""Breaking""[^}]*\} [1-9]");
        }, "published and relayed events in /metrics");

        Assert.Matches(@"livenews_events_published_total\{[^}]*topic=""Breaking""[^}]*\} [1-9]", text);
        // Every node of the test process exports the one LiveNews meter: other tests' nodes add to these figures.
        Assert.Matches(@"livenews_connections(\{[^}]*\})? [1-9]", text);
        Assert.Contains("livenews_delivery_lag_milliseconds_bucket", text, StringComparison.Ordinal);
        Assert.Matches(@"livenews_subscriptions\{[^}]*topic=""Breaking""[^}]*\} [1-9]", text);
    }
}
