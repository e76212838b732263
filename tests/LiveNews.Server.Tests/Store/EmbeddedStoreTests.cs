using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Store;

/// <summary>With no Redis configured the server starts Garnet in-process and works end to end.</summary>
public sealed class EmbeddedStoreTests
{
    [Fact]
    public async Task Server_WithoutRedisConfiguration_ServesHubAndApiOnEmbeddedStore()
    {
        await using var node = new LiveNewsNode(storeConfiguration: "", keyPrefix: "livenews");
        await using var client = await node.ClientAsync();
        var reader = new ChannelReaderOf(await client.SubscribeChannelAsync("breaking"));
        using var editor = node.Editor();

        (await editor.PostJsonAsync("/api/breaking", new { headline = "Embedded works" })).EnsureSuccessStatusCode();

        var events = await reader.EventsUntilAsync(1);
        Assert.Equal("Embedded works", events[0].Data.GetProperty("headline").GetString());
        Assert.Equal(HttpStatusCode.OK, (await node.Anonymous().GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task EmbeddedStore_ConcurrentScripts_EachRunsAsOneStep()
    {
        // The bus relies on a script being atomic (compare-and-set, then seq). Garnet interleaves scripts
        // unless told to run them as transactions: a read-modify-write script then loses updates.
        using var garnet = new LiveNews.Server.Store.EmbeddedGarnet();
        const string Increment = "local v = tonumber(redis.call('GET', KEYS[1]) or '0'); redis.call('SET', KEYS[1], v + 1); return v + 1";

        // Several nodes: one connection each, as several LiveNews nodes share one store.
        var nodes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(garnet.Configuration)));
        try
        {
            await Task.WhenAll(nodes.SelectMany(node => Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < 250; i++)
                {
                    await node.GetDatabase().ScriptEvaluateAsync(Increment, ["counter"]);
                }
            }))));

            Assert.Equal(8 * 4 * 250, (long)await nodes[0].GetDatabase().StringGetAsync("counter"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Operations_HealthAndOpenApi_Answer()
    {
        await using var node = new LiveNewsNode(storeConfiguration: "", keyPrefix: "livenews");
        using var http = node.Anonymous();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        var openApi = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/api/live", "/api/breaking", "/api/breaking/{id}", "/api/articles/{id}", "/api/articles/{id}/entries", "/api/topics/{topic}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI document lacks {path}");
        }
    }

    [Fact]
    public async Task Readiness_WhenRedisIsDown_IsUnhealthyWhileLivenessStaysUp()
    {
        var redis = await RedisServer.StartAsync();
        await using var node = new LiveNewsNode(redis.Configuration, Eventually.Prefix());
        using var http = node.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        await redis.DisposeAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }
}
