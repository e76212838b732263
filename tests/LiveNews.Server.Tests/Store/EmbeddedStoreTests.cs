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
