using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveNews.Server.Tests.Operations;

/// <summary>
/// Limits count the real client behind a trusted proxy (and only a trusted one), IPv6 per /64, open
/// connections and failed sign-ins per address; editor rights are checked when they are used.
/// </summary>
[Collection("redis")]
public sealed class ClientLimitsTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private const string SigningKey = "a-test-signing-key-of-at-least-32-bytes!";
    private const string PublishOnlyKey = "test-publish-only-key-0123456789";
    private readonly Owned _owned = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _owned.DisposeAsync();

    [Fact]
    public async Task PublicReads_BehindATrustedProxy_CountEachClientAddress()
    {
        var node = Node(new() { ["RateLimits:KnownProxies:0"] = "127.0.0.1", ["RateLimits:PublicRequestsPerMinute"] = "2" });

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await ReadsFromAsync(node, "203.0.113.5", 3));
        Assert.Equal([HttpStatusCode.OK], await ReadsFromAsync(node, "203.0.113.6", 1));
    }

    [Fact]
    public async Task PublicReads_ForwardedByAnUntrustedPeer_CountThePeer()
    {
        var node = Node(new() { ["RateLimits:PublicRequestsPerMinute"] = "2" });

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], await ReadsFromAsync(node, "203.0.113.5", 2));
        Assert.Equal([HttpStatusCode.TooManyRequests], await ReadsFromAsync(node, "203.0.113.6", 1));
    }

    [Fact]
    public async Task PublicReads_FromOneIPv6Network_ShareOneBucketPer64()
    {
        var node = Node(new() { ["RateLimits:KnownNetworks:0"] = "127.0.0.0/8", ["RateLimits:PublicRequestsPerMinute"] = "2" });

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], await ReadsFromAsync(node, "2001:db8:1:2::1", 2));
        Assert.Equal([HttpStatusCode.TooManyRequests], await ReadsFromAsync(node, "2001:db8:1:2:ffff:ffff:ffff:ffff", 1));
        Assert.Equal([HttpStatusCode.OK], await ReadsFromAsync(node, "2001:db8:1:3::1", 1));
    }

    [Fact]
    public async Task HubConnections_OverThePerAddressCap_AreRefusedUntilOneCloses()
    {
        var node = Node(new() { ["RateLimits:ConnectionsPerAddress"] = "2" });
        var first = await node.ConnectAsync();
        var second = Track(await node.ConnectAsync());

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => node.ConnectAsync(o => o.SkipNegotiation = false));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        await first.DisposeAsync();
        var third = await Eventually.WithinAsync(ConnectWhenAllowedAsync(node), "a connection once one closed");
        Track(third);
        Assert.Equal(HubConnectionState.Connected, second.State);
    }

    [Fact]
    public async Task EditorSignIn_FailingTooOften_TurnsTheAddressAwayEvenWithTheRightKey()
    {
        var node = Node(new() { ["RateLimits:KnownProxies:0"] = "127.0.0.1", ["RateLimits:FailedSignInsPerMinute"] = "3" });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add(await PublishFromAsync(node, "198.51.100.7", $"guess-{i}"));
        }

        statuses.Add(await PublishFromAsync(node, "198.51.100.7", LiveNewsNode.EditorKey));
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.Created, await PublishFromAsync(node, "198.51.100.8", LiveNewsNode.EditorKey));
    }

    [Fact]
    public async Task Newsroom_NeedsTheShareScope_OnTheHubAndOverHttp()
    {
        var node = Node(new()
        {
            ["Auth:ApiKeys:2:Name"] = "cms-publisher",
            ["Auth:ApiKeys:2:Key"] = PublishOnlyKey,
            ["Auth:ApiKeys:2:Scopes:0"] = "publish",
        });

        var publisher = Track(await node.ConnectAsync(o => o.Headers["X-Api-Key"] = PublishOnlyKey));
        var refused = await Assert.ThrowsAsync<HubException>(() => publisher.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } }));
        Assert.Contains("share scope", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await node.Editor(PublishOnlyKey).GetAsync("/api/topics/newsroom")).StatusCode);

        var sharer = Track(await node.ConnectAsync(o => o.Headers["X-Api-Key"] = LiveNewsNode.ShareOnlyKey));
        Assert.Single(await sharer.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } }));
    }

    [Fact]
    public async Task Newsroom_ConnectionOfAnExpiredToken_IsClosed()
    {
        var node = Node(new()
        {
            ["Auth:Jwt:Issuer"] = "https://newsroom.example",
            ["Auth:Jwt:Audience"] = "livenews",
            ["Auth:Jwt:SigningKey"] = SigningKey,
        });
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://newsroom.example",
            Audience = "livenews",
            Subject = new ClaimsIdentity([new Claim("sub", "editor-1"), new Claim("scope", "publish share")]),
            NotBefore = DateTime.UtcNow.AddMinutes(-1),
            Expires = DateTime.UtcNow.AddSeconds(3),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)), SecurityAlgorithms.HmacSha256),
        });
        var connection = Track(await node.ConnectAsync(o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)));
        var closed = new TaskCompletionSource();
        connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        Assert.Single(await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } }));

        await Eventually.WithinAsync(closed.Task.ContinueWith(_ => true, TaskScheduler.Default), "the connection to close when its token expired", seconds: 30);
    }

    private static async Task<List<HttpStatusCode>> ReadsFromAsync(LiveNewsNode node, string forwardedFor, int count)
    {
        using var http = node.Anonymous();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/topics/live");
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            statuses.Add((await http.SendAsync(request)).StatusCode);
        }

        return statuses;
    }

    private static async Task<HttpStatusCode> PublishFromAsync(LiveNewsNode node, string forwardedFor, string key)
    {
        using var editor = node.Editor(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/breaking") { Content = new StringContent("{\"headline\":\"Signed in\"}", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await editor.SendAsync(request)).StatusCode;
    }

    private static async Task<HubConnection> ConnectWhenAllowedAsync(LiveNewsNode node)
    {
        while (true)
        {
            try
            {
                return await node.ConnectAsync(o => o.SkipNegotiation = false);
            }
            catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(50);
            }
        }
    }

    private LiveNewsNode Node(Dictionary<string, string?> settings) => Track(new LiveNewsNode(redis.Configuration, Eventually.Prefix(), settings));

    private T Track<T>(T disposable)
        where T : IAsyncDisposable => _owned.Add(disposable);
}
