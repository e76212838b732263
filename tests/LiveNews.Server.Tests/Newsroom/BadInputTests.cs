using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;

namespace LiveNews.Server.Tests.Newsroom;

/// <summary>Bad input gets a clear error and changes nothing: every test ends by checking nothing was published.</summary>
[Collection("redis")]
public sealed class BadInputTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private LiveNewsNode _node = null!;

    public Task InitializeAsync()
    {
        _node = new LiveNewsNode(redis.Configuration, Eventually.Prefix(), new() { ["EditorApi:MaxRequestBodyBytes"] = "4096" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    public static TheoryData<string, string, string, string> InvalidBodies => new()
    {
        // method, path, body, field named in the problem
        { "POST", "/api/breaking", """{"headline":""}""", "headline" },
        { "POST", "/api/breaking", """{"headline":"x","url":"javascript:alert(1)"}""", "url" },
        { "POST", "/api/breaking", """{"headline":"x","url":"ftp://files.example/a"}""", "url" },
        { "POST", "/api/breaking", """{"headline":"bell\u0007"}""", "headline" },
        { "POST", "/api/breaking", $$"""{"headline":"{{new string('a', 201)}}"}""", "headline" },
        { "POST", "/api/breaking", """{"headline":"x","expiresAt":"2001-01-01T00:00:00Z"}""", "expiresAt" },
        { "POST", "/api/breaking", """{"headline":42}""", "headline" },
        { "POST", "/api/breaking", """{"headline":"x","extra":true}""", "extra" },
        { "POST", "/api/breaking", """{"headline":"x",""", "body" },
        { "POST", "/api/breaking", """[1,2,3]""", "body" },
        { "POST", "/api/breaking", """null""", "body" },
        { "POST", "/api/breaking", """{"headline":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}}""", "headline" },
        { "PUT", "/api/live", """{"title":"Live","streamUrl":"not a url"}""", "streamUrl" },
        { "PUT", "/api/live", """{"streamUrl":"https://video.example/x"}""", "title" },
        { "PUT", "/api/articles/Bad_Id", """{"headline":"x","url":"https://news.example/a"}""", "id" },
        { "PUT", "/api/articles/story", """{"headline":"x","url":"https://news.example/a","imageUrl":"data:image/png;base64,AAAA"}""", "imageUrl" },
        { "POST", "/api/articles/story/entries", """{"text":"x","kind":"opinion"}""", "kind" },
        { "POST", "/api/articles/story/entries", """{"text":"   "}""", "text" },
        { "PUT", "/api/articles/story/entries/e-1", """{"text":"   "}""", "text" },
        // Not characters: an Atom feed (XML) cannot carry them, so one would break /feeds/latest.atom for everyone.
        { "PUT", "/api/articles/story", """{"headline":"Hi\uffff","url":"https://news.example/a"}""", "headline" },
        { "PUT", "/api/articles/story", """{"headline":"Hi","url":"https://news.example/a","section":"\ud800"}""", "section" },
        { "POST", "/api/articles/story/entries", """{"text":"x\ufffe"}""", "text" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task EditorWrite_InvalidBody_IsProblemNamingTheFieldAndPublishesNothing(string method, string path, string body, string field)
    {
        using var editor = _node.Editor();

        var response = await editor.SendJsonAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"problem should name '{field}': {problem}");
        await AssertNothingPublishedAsync();
    }

    // Both framings: a declared Content-Length is refused before the body is read, a chunked body once it passes the limit.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EditorWrite_OversizedBody_Is413AndPublishesNothing(bool declaredLength)
    {
        using var editor = _node.Editor();
        var body = new { text = new string('x', 5000) };

        var response = await editor.PostJsonAsync("/api/articles/story/entries", declaredLength ? JsonSerializer.Serialize(body) : body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertNothingPublishedAsync();
    }

    // Refused before anything ran, so the key keeps no answer: the CMS that shortens the text and retries
    // under the same key gets its entry in, not "in progress" (409) or "used for another request" (422).
    [Fact]
    public async Task EditorWrite_OversizedBodyWithAnIdempotencyKey_Is413AndLeavesTheKeyFree()
    {
        using var editor = _node.Editor();

        var response = await editor.PostJsonAsync("/api/breaking", new { headline = new string('x', 5000) }, idempotencyKey: "too-big");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertNothingPublishedAsync();
        var retry = await editor.PostJsonAsync("/api/breaking", new { headline = "x" }, idempotencyKey: "too-big");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task EditorWrite_NotJson_Is415()
    {
        using var editor = _node.Editor();

        var response = await editor.PostAsync("/api/breaking", new StringContent("headline=x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertNothingPublishedAsync();
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("wrong-key-wrong-key-wrong-key", HttpStatusCode.Unauthorized)]
    [InlineData(LiveNewsNode.ShareOnlyKey, HttpStatusCode.Forbidden)]
    public async Task EditorWrite_WithoutPublishScope_IsRefusedAndPublishesNothing(string? key, HttpStatusCode expected)
    {
        using var client = key is null ? _node.Anonymous() : _node.Editor(key);

        var responses = new[]
        {
            await client.PostJsonAsync("/api/breaking", new { headline = "x" }),
            await client.PutJsonAsync("/api/live", new { title = "x", streamUrl = "https://video.example/x" }),
            await client.PutJsonAsync("/api/articles/story", new { headline = "x", url = "https://news.example/a" }),
            await client.DeleteAsync("/api/breaking/b-1"),
        };

        Assert.All(responses, r => Assert.Equal(expected, r.StatusCode));
        await AssertNothingPublishedAsync();
    }

    [Theory]
    [InlineData("/api/topics/nope", HttpStatusCode.NotFound)]
    [InlineData("/api/topics/article:UPPER", HttpStatusCode.NotFound)]
    [InlineData("/api/topics/article:a%2A", HttpStatusCode.NotFound)]
    [InlineData("/api/topics/article:%7Bx%7D", HttpStatusCode.NotFound)]
    [InlineData("/api/topics/newsroom", HttpStatusCode.Forbidden)]
    [InlineData("/api/nothing-here", HttpStatusCode.NotFound)]
    public async Task TopicRead_BadTopic_IsClearProblem(string path, HttpStatusCode expected)
    {
        var response = await _node.Anonymous().GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    // Kestrel calls any bodiless request with "Connection: upgrade" upgradable (nginx sends it for any Upgrade
    // header); only a WebSocket handshake goes without the error pages.
    [Theory]
    [InlineData("h2c")]
    [InlineData("foo")]
    public async Task Read_AskingAnUpgradeThatIsNoWebSocket_StillGetsAClearProblem(string protocol)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/nothing-here");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new ProductHeaderValue(protocol));

        var response = await _node.Anonymous().SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("PUT", "/api/breaking/b-unknown", """{"headline":"x"}""")]
    [InlineData("DELETE", "/api/breaking/b-unknown", "")]
    [InlineData("DELETE", "/api/articles/never-published", "")]
    [InlineData("PUT", "/api/articles/story/entries/e-unknown", """{"text":"x"}""")]
    [InlineData("DELETE", "/api/live", "")]
    public async Task EditorWrite_UnknownTarget_Is404AndPublishesNothing(string method, string path, string body)
    {
        using var editor = _node.Editor();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        var response = await editor.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await AssertNothingPublishedAsync();
    }

    [Fact]
    public async Task EditorWrite_BadIdempotencyKey_Is400()
    {
        using var editor = _node.Editor();

        var response = await editor.PostJsonAsync("/api/breaking", new { headline = "x" }, idempotencyKey: "has space");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertNothingPublishedAsync();
    }

    private async Task AssertNothingPublishedAsync()
    {
        using var reader = _node.Anonymous();
        foreach (var topic in new[] { "breaking", "live", "latest", "article:story" })
        {
            var state = await reader.GetFromJsonAsync<JsonElement>($"/api/topics/{topic}");
            Assert.Equal(0, state.GetProperty("seq").GetInt64());
        }
    }
}
