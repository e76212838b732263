using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Server.Tests.Operations;

/// <summary>Abuse gets a clear refusal, the node keeps serving everyone else, and nothing is published.</summary>
[Collection("redis")]
public sealed class LimitsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task EditorApi_OverItsRate_Is429WithRetryAfterAndPublishesNothingMore()
    {
        await using var node = Node(new() { ["RateLimits:EditorRequestsPerMinute"] = "3" });
        using var editor = node.Editor();

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            responses.Add(await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" }));
        }

        Assert.All(responses.Take(3), r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal(HttpStatusCode.TooManyRequests, responses[3].StatusCode);
        Assert.True(responses[3].Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var state = await node.Anonymous().GetFromJsonAsync<JsonElement>("/api/topics/breaking");
        Assert.Equal(3, state.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task PublicReads_OverTheirRate_Are429()
    {
        await using var node = Node(new() { ["RateLimits:PublicRequestsPerMinute"] = "2" });
        using var reader = node.Anonymous();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add((await reader.GetAsync("/api/topics/live")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task HubInvocations_OverTheirRate_FailWithAClearErrorAndTheConnectionStays()
    {
        await using var node = Node(new() { ["RateLimits:HubInvocationsPerMinute"] = "2" });
        await using var connection = await node.ConnectAsync();
        await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "live" } });
        await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });

        var error = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "latest" } }));

        Assert.Contains("Too many calls", error.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task HubInvocations_OverTheirRate_TheClientRetriesTheTopicInsteadOfDroppingIt()
    {
        await using var node = Node(new() { ["RateLimits:HubInvocationsPerMinute"] = "2" });
        await using var client = await node.ClientAsync();
        var errors = new ConcurrentQueue<LiveNews.Client.TopicError>();
        client.TopicFailed += errors.Enqueue;
        await client.SubscribeChannelAsync("live");
        await client.SubscribeChannelAsync("breaking");

        await client.SubscribeChannelAsync("latest");

        var error = Assert.Single(errors);
        Assert.Equal(("latest", LiveNews.Client.TopicErrorReason.Unavailable), (error.Topic, error.Reason));
        Assert.NotNull(error.RetryIn);
    }

    [Fact]
    public async Task NewConnections_OverTheirRate_AreRefused()
    {
        await using var node = Node(new() { ["RateLimits:ConnectionsPerMinute"] = "2" });
        await using var first = await node.ConnectAsync();
        await using var second = await node.ConnectAsync();

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => node.ConnectAsync(o => o.SkipNegotiation = false));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HubConnectionState.Connected, first.State);
    }

    [Fact]
    public async Task Hub_OversizedOrMalformedFrames_CloseThatConnectionOnly()
    {
        await using var node = Node(new() { ["Realtime:MaximumReceiveMessageSize"] = "2048" });
        await using var bystander = await node.ConnectAsync();

        var oversized = await RawAsync(node, $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[[{{\"topic\":\"{new string('a', 4000)}\"}}]]}}\u001e");
        var garbage = await RawAsync(node, "this is not json\u001e");
        var deep = await RawAsync(node, new string('[', 5000) + "\u001e");
        var wrongTypes = await RawAsync(node, "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[42]}\u001e");

        Assert.True(oversized.Closed, "an oversized message closes its connection");
        Assert.True(garbage.Closed, "a frame that is not JSON closes its connection");
        Assert.True(deep.Closed, "deeply nested JSON closes its connection");
        Assert.All(new[] { oversized, garbage, deep, wrongTypes }, r => Assert.False(r.TimedOut, "the server answered or closed, it did not hang"));
        Assert.Contains("error", wrongTypes.Text, StringComparison.Ordinal);
        var ok = await bystander.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });
        Assert.Equal(0, ok[0].GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task ApiKey_ConfiguredAsSha256_Authenticates()
    {
        const string Key = "hashed-key-0123456789abcdef";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        await using var node = Node(new() { ["Auth:ApiKeys:2:Name"] = "hashed", ["Auth:ApiKeys:2:KeySha256"] = hash, ["Auth:ApiKeys:2:Scopes:0"] = "publish" });
        using var editor = node.Editor(Key);

        var response = await editor.PostJsonAsync("/api/breaking", new { headline = "By hashed key" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Cors_AllowsConfiguredOriginsOnly()
    {
        await using var node = Node(new() { ["RateLimits:AllowedOrigins:0"] = "https://www.news.example" });
        using var http = node.Anonymous();

        async Task<string?> AllowedFor(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, "/api/breaking");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            using var response = await http.SendAsync(request);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
        }

        Assert.Equal("https://www.news.example", await AllowedFor("https://www.news.example"));
        Assert.Null(await AllowedFor("https://evil.example"));
    }

    private LiveNewsNode Node(Dictionary<string, string?> settings) => new(redis.Configuration, Eventually.Prefix(), settings);

    /// <summary>Speaks the SignalR JSON protocol by hand, to send what no client library would.</summary>
    private static async Task<(bool Closed, bool TimedOut, string Text)> RawAsync(LiveNewsNode node, string frame)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(new UriBuilder(node.HubUrl) { Scheme = "ws" }.Uri.ToString()), CancellationToken.None);
        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
        var received = new StringBuilder();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (!received.ToString().Contains("\"type\":3", StringComparison.Ordinal) && !received.ToString().Contains("\"type\":7", StringComparison.Ordinal))
            {
                var result = await socket.ReceiveAsync(buffer, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (true, false, received.ToString());
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            }
        }
        catch (OperationCanceledException)
        {
            return (false, true, received.ToString());
        }
        catch (WebSocketException)
        {
            return (true, false, received.ToString());
        }

        return (received.ToString().Contains("\"type\":7", StringComparison.Ordinal), false, received.ToString());
    }
}
