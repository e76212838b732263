using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Server.Tests.Social;

/// <summary>
/// Sharing through the real adapters to fake networks on loopback: the exact requests sent, and the
/// outcome under each fault: posted exactly once, or the right terminal state with a clear reason.
/// </summary>
[Collection("redis")]
public sealed class ShareTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Mastodon_Share_SendsStatusWithIdempotencyKeyAndPostsOnce()
    {
        await PublishArticleAsync("harbour-fire", "Fire in the harbour");

        var job = await ShareAndWaitAsync("harbour-fire", "mastodon-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.StartsWith("https://mastodon.example/@news/", job.GetProperty("remoteUrl").GetString());
        var request = Assert.Single(Fake.To("/api/v1/statuses"));
        Assert.Equal($"Bearer {FakeNetworks.Token}", request.Headers["Authorization"]);
        Assert.False(string.IsNullOrEmpty(request.Headers["Idempotency-Key"]));
        Assert.Equal("Fire in the harbour\n\nhttps://news.example/harbour-fire?utm_source=mastodon", request.Json.GetProperty("status").GetString());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Mastodon_503ThenAcceptedButNoAnswer_RetriesWithSameKeyAndPostsOnce()
    {
        await PublishArticleAsync("storm", "Storm warning");
        Fake.Script("/api/v1/statuses", Fault.Answer(503), Fault.AcceptThenHang);

        var job = await ShareAndWaitAsync("storm", "mastodon-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var keys = Fake.To("/api/v1/statuses").Select(r => r.Headers["Idempotency-Key"]).ToList();
        Assert.Equal(3, keys.Count);
        Assert.Single(keys.Distinct());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Mastodon_NoAnswer_ResendWaitsUntilTheFirstRequestHasSurelyEnded()
    {
        // Mastodon records the Idempotency-Key only once the status is made: a resend while the first request
        // still runs there posts twice, so none is sent within Resilience:SettleAfterUnknown.
        var node = Node(configure: s => s[Setting("mastodon-main") + "Resilience:SettleAfterUnknown"] = "00:03:00");
        await PublishArticleAsync("slow-instance", "Slow instance");
        await StopAsync(First);
        Fake.Script("/api/v1/statuses", Fault.Hang);
        var before = DateTimeOffset.UtcNow;
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/articles/slow-instance/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();

        var job = await WaitForStateAsync("slow-instance", "mastodon-main", "failed", node);

        Assert.Single(Fake.To("/api/v1/statuses"));
        Assert.True(job.GetProperty("nextAttemptAt").GetDateTimeOffset() - before >= TimeSpan.FromMinutes(3), job.GetRawText());
    }

    [Fact]
    public async Task Mastodon_RateLimitedWithResetHeader_WaitsThenPostsOnce()
    {
        await PublishArticleAsync("quota", "Quota test");
        var reset = DateTimeOffset.UtcNow.AddMilliseconds(300).ToString("O");
        Fake.Script("/api/v1/statuses", Fault.Answer(429, """{"error":"Too many requests"}""", new Dictionary<string, string> { ["X-RateLimit-Reset"] = reset }));

        var job = await ShareAndWaitAsync("quota", "mastodon-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(2, Fake.To("/api/v1/statuses").Count());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Mastodon_BadToken_IsDeadAtOnceWithReason()
    {
        await PublishArticleAsync("token", "Token test");

        var job = await ShareAndWaitAsync("token", "mastodon-badtoken");

        Assert.Equal("dead", job.GetProperty("state").GetString());
        Assert.Contains("401", job.GetProperty("reason").GetString());
        Assert.Single(Fake.To("/api/v1/statuses"));
        Assert.Equal(0, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Bluesky_Share_SendsFacetInUtf8ByteOffsetsAndEmbedCard()
    {
        const string Headline = "Élection à Zürich 🗳️ : les résultats";
        await PublishArticleAsync("zurich", Headline, summary: "Voici les résultats.");

        var job = await ShareAndWaitAsync("zurich", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var record = Assert.Single(Fake.To("/xrpc/com.atproto.repo.createRecord")).Json.GetProperty("record");
        var text = record.GetProperty("text").GetString()!;
        var link = "https://news.example/zurich?utm_source=bluesky";
        Assert.Equal($"{Headline}\n\n{link}", text);
        var index = record.GetProperty("facets")[0].GetProperty("index");
        var bytes = Encoding.UTF8.GetBytes(text);
        var start = index.GetProperty("byteStart").GetInt32();
        var end = index.GetProperty("byteEnd").GetInt32();
        Assert.Equal(link, Encoding.UTF8.GetString(bytes, start, end - start));
        Assert.Equal(bytes.Length, end);
        Assert.Equal("app.bsky.richtext.facet#link", record.GetProperty("facets")[0].GetProperty("features")[0].GetProperty("$type").GetString());
        var external = record.GetProperty("embed").GetProperty("external");
        Assert.Equal(Headline, external.GetProperty("title").GetString());
        Assert.Equal("Voici les résultats.", external.GetProperty("description").GetString());
    }

    [Fact]
    public async Task Bluesky_SessionReusedThenExpired_RefreshesAndPosts()
    {
        await PublishArticleAsync("first", "First");
        await PublishArticleAsync("second", "Second");
        await ShareAndWaitAsync("first", "bluesky-main");

        Fake.BlueskyAccessJwtVersion = 2;
        var job = await ShareAndWaitAsync("second", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/xrpc/com.atproto.server.createSession"));
        Assert.Single(Fake.To("/xrpc/com.atproto.server.refreshSession"));
        Assert.Equal(2, Fake.PostsOn("bluesky"));
    }

    [Fact]
    public async Task Bluesky_AcceptedButNoAnswer_RetryWithSameRecordKeyDoesNotPostTwice()
    {
        await PublishArticleAsync("rkey", "Record key test");
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.AcceptThenHang);

        var job = await ShareAndWaitAsync("rkey", "bluesky-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var keys = Fake.To("/xrpc/com.atproto.repo.createRecord").Select(r => r.Json.GetProperty("rkey").GetString()).ToList();
        Assert.Equal(2, keys.Count);
        Assert.Single(keys.Distinct());
        Assert.Matches("^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$", keys[0]);
        Assert.Equal(1, Fake.PostsOn("bluesky"));
    }

    [Fact]
    public async Task X_LongText_IsTrimmedTo280WeightedWithLinkAs23()
    {
        await PublishArticleAsync("long", "Long one");
        var text = string.Concat(Enumerable.Repeat("Breaking news keeps coming. ", 20));

        var job = await ShareAndWaitAsync("long", "x-main", text);

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var sent = Assert.Single(Fake.To("/2/tweets")).Json.GetProperty("text").GetString()!;
        Assert.EndsWith("…\n\nhttps://news.example/long?utm_source=x", sent, StringComparison.Ordinal);
        var withoutLink = sent[..sent.LastIndexOf("\n\n", StringComparison.Ordinal)];
        Assert.True(withoutLink.Length + 2 + 23 <= 280, $"weighted length {withoutLink.Length + 25}");
        Assert.True(withoutLink.Length + 2 + 23 >= 270, "trimmed no more than needed");
    }

    [Fact]
    public async Task X_AcceptedButNoAnswer_IsUnconfirmedAndNotRepeated()
    {
        await PublishArticleAsync("unknown", "Unknown outcome");
        Fake.Script("/2/tweets", Fault.AcceptThenHang);

        var job = await ShareAndWaitAsync("unknown", "x-main");

        Assert.Equal("unconfirmed", job.GetProperty("state").GetString());
        Assert.Contains("may exist", job.GetProperty("reason").GetString());
        Assert.Single(Fake.To("/2/tweets"));
        Assert.Equal(1, Fake.PostsOn("x"));
    }

    [Fact]
    public async Task X_RetryOfUnconfirmedJob_NeedsConfirmNotPostedThenDuplicateRefusalReadsAsPosted()
    {
        await PublishArticleAsync("dupe", "Duplicate test");
        Fake.Script("/2/tweets", Fault.AcceptThenHang);
        var unconfirmed = await ShareAndWaitAsync("dupe", "x-main");
        using var editor = First.Editor();
        var retryPath = $"/api/shares/{unconfirmed.GetProperty("id").GetString()}/retry";

        var blind = await editor.PostAsync(retryPath, null);
        var confirmed = await editor.PostJsonAsync(retryPath, new { confirmNotPosted = true });
        var job = await WaitForStateAsync("dupe", "x-main", "posted"); // the retry counts its attempts from 0

        Assert.Equal(HttpStatusCode.Conflict, blind.StatusCode);
        Assert.Contains("confirmNotPosted", await blind.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, confirmed.StatusCode);
        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("x"));
    }

    [Fact]
    public async Task Facebook_ThrottledThenAccepted_SendsFormFieldsAndPostsOnce()
    {
        await PublishArticleAsync("fb", "Facebook story");
        Fake.Script("/v26.0/page-1/feed", Fault.Answer(400, """{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}}""", new Dictionary<string, string> { ["Retry-After"] = "0" }));

        var job = await ShareAndWaitAsync("fb", "facebook-page");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        var form = Fake.To("/v26.0/page-1/feed").Last().Form;
        Assert.Equal("Facebook story", form["message"]);
        Assert.Equal("https://news.example/fb?utm_source=facebook", form["link"]);
        Assert.Equal(1, Fake.PostsOn("facebook"));
    }

    [Fact]
    public async Task Facebook_InvalidToken190_IsDead()
    {
        await PublishArticleAsync("fb-token", "Facebook token");
        Fake.Script("/v26.0/page-1/feed", Fault.Answer(400, """{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"""));

        var job = await ShareAndWaitAsync("fb-token", "facebook-page");

        Assert.Equal("dead", job.GetProperty("state").GetString());
        Assert.Contains("190", job.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task LinkedIn_Share_SendsVersionHeadersAndReadsPostIdFromRestliHeader()
    {
        await PublishArticleAsync("li", "LinkedIn story", summary: "For professionals.");

        var job = await ShareAndWaitAsync("li", "linkedin-org");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.StartsWith("urn:li:share:", job.GetProperty("remoteId").GetString());
        var request = Assert.Single(Fake.To("/rest/posts"));
        Assert.Equal("202606", request.Headers["LinkedIn-Version"]);
        Assert.Equal("2.0.0", request.Headers["X-Restli-Protocol-Version"]);
        Assert.Equal("urn:li:organization:42", request.Json.GetProperty("author").GetString());
        Assert.Equal("https://news.example/li?utm_source=linkedin", request.Json.GetProperty("content").GetProperty("article").GetProperty("source").GetString());
    }

    [Fact]
    public async Task Threads_PublishFailsOnce_RetryPublishesTheSameContainer()
    {
        await PublishArticleAsync("threads", "Threads story");
        Fake.Script("/v1.0/user-1/threads_publish", Fault.Answer(503));

        var job = await ShareAndWaitAsync("threads", "threads-main");

        Assert.Equal("posted", job.GetProperty("state").GetString());
        Assert.Single(Fake.To("/v1.0/user-1/threads"), r => !r.Path.EndsWith("_publish", StringComparison.Ordinal));
        var publishes = Fake.To("/v1.0/user-1/threads_publish").Select(r => r.Form["creation_id"]).ToList();
        Assert.Equal(2, publishes.Count);
        Assert.Single(publishes.Distinct());
        Assert.Equal(1, Fake.PostsOn("threads"));
    }

    [Fact]
    public async Task Webhooks_SlackDiscordGeneric_EachPostedOnce()
    {
        await PublishArticleAsync("hooks", "Webhook story");
        Fake.Script(FakeNetworks.HookPath("discord"), Fault.Answer(429, """{"message":"You are being rate limited.","retry_after":0.2,"global":false}"""));

        var jobs = await ShareAndWaitAllAsync("hooks", ["slack-desk", "discord-desk", "generic-desk"]);

        Assert.All(jobs, j => Assert.Equal("posted", j.GetProperty("state").GetString()));
        Assert.Contains("<https://news.example/hooks?utm_source=webhook|Webhook story>", Assert.Single(Fake.To("/hooks/slack")).Json.GetProperty("text").GetString());
        Assert.All(Fake.To("/hooks/discord"), r => Assert.Contains("wait=true", r.Query));
        Assert.Equal(1, Fake.PostsOn("discord"));
        Assert.Equal("hooks", Assert.Single(Fake.To("/hooks/generic")).Json.GetProperty("article").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Share_SameArticleTwice_IsConflictUnlessForced()
    {
        await PublishArticleAsync("twice", "Twice");
        var first = await ShareAndWaitAsync("twice", "mastodon-main");
        using var editor = First.Editor();

        var again = await editor.PostJsonAsync("/api/articles/twice/shares", new { accounts = new[] { "mastodon-main" } });
        var problem = await again.Content.ReadFromJsonAsync<JsonElement>();
        var forced = await editor.PostJsonAsync("/api/articles/twice/shares", new { accounts = new[] { "mastodon-main" }, force = true });
        var second = (await forced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs")[0];
        await Eventually.TrueAsync(() => Fake.PostsOn("mastodon") == 2, "the forced share posted");

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(first.GetProperty("id").GetString(), problem.GetProperty("jobs")[0].GetProperty("id").GetString());
        Assert.Contains("force", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, forced.StatusCode);
        Assert.NotEqual(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Share_TwoRequestsAtOnce_MakeOneJobAndOnePost()
    {
        // A double click, or two editors: neither request sees the other's job when it looks.
        var articles = Enumerable.Range(0, 8).Select(i => $"double-{i}").ToArray();
        foreach (var article in articles)
        {
            await PublishArticleAsync(article, "Double click");
        }

        using var editor = First.Editor();
        var answers = await Task.WhenAll(articles.SelectMany(article => Enumerable.Range(0, 2).Select(_ =>
            editor.PostJsonAsync($"/api/articles/{article}/shares", new { accounts = new[] { "mastodon-main" } }))));

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode));
        foreach (var article in articles)
        {
            Assert.Equal("posted", (await WaitForTerminalAsync(article, "mastodon-main")).GetProperty("state").GetString());
            var jobs = (await editor.GetFromJsonAsync<JsonElement>($"/api/articles/{article}/shares")).GetProperty("jobs");
            Assert.Equal(1, jobs.GetArrayLength());
        }

        Assert.Equal(articles.Length, Fake.PostsOn("mastodon"));
    }

    [Theory]
    [InlineData("""{"accounts":[]}""", "accounts")]
    [InlineData("""{"accounts":["nobody"]}""", "accounts[0]")]
    [InlineData("""{"accounts":["mastodon-main"],"text":{"x-main":"hi"}}""", "text.x-main")]
    [InlineData("""{"accounts":["mastodon-main"],"text":{"mastodon-main":"bell\u0007"}}""", "text.mastodon-main")]
    public async Task Share_BadRequest_NamesTheFieldAndCreatesNoJob(string body, string field)
    {
        await PublishArticleAsync("bad", "Bad");
        using var editor = First.Editor();

        var response = await editor.PostJsonAsync("/api/articles/bad/shares", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _));
        Assert.Empty((await editor.GetFromJsonAsync<JsonElement>("/api/articles/bad/shares")).GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task Share_UnpublishedArticleOrMissingScope_IsRefused()
    {
        using var editor = First.Editor();
        var unpublished = await editor.PostJsonAsync("/api/articles/never/shares", new { accounts = new[] { "mastodon-main" } });
        using var anonymous = First.Anonymous();
        var noKey = await anonymous.PostJsonAsync("/api/articles/never/shares", new { accounts = new[] { "mastodon-main" } });

        Assert.Equal(HttpStatusCode.NotFound, unpublished.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
    }

    [Fact]
    public async Task ShareLinks_AreEncodedIntentUrlsWithUtm()
    {
        await PublishArticleAsync("links", "Q&A: what \"now\"?");

        var links = await First.Anonymous().GetFromJsonAsync<JsonElement>("/api/articles/links/share-links");

        var x = links.GetProperty("links").GetProperty("x").GetString()!;
        Assert.Equal("https://x.com/intent/post?text=Q%26A%3A%20what%20%22now%22%3F&url=https%3A%2F%2Fnews.example%2Flinks%3Futm_source%3Dx", x);
        foreach (var network in new[] { "facebook", "linkedin", "reddit", "whatsapp", "telegram", "bluesky", "email" })
        {
            Assert.True(links.GetProperty("links").TryGetProperty(network, out _), network);
        }

        Assert.StartsWith("/share?text=", links.GetProperty("mastodonSharePath").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await First.Anonymous().GetAsync("/api/articles/nope/share-links")).StatusCode);
    }

    [Fact]
    public async Task NodeStoppedMidMastodonPost_SecondNodeWaitsForTheSettleTimeBeforeSendingAgain()
    {
        await PublishArticleAsync("settle", "Settle");
        Fake.Script("/api/v1/statuses", Fault.Hang);
        using (var editor = First.Editor())
        {
            (await editor.PostJsonAsync("/api/articles/settle/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(() => Fake.To("/api/v1/statuses").Any(), "the post in flight");

        // Started only now, so the job in flight is the first node's: only the hand-over can bring it here.
        var second = Node(configure: s => s[Setting("mastodon-main") + "Resilience:SettleAfterUnknown"] = "00:03:00");
        var stoppedAt = DateTimeOffset.UtcNow;
        await StopAsync(First);

        var job = await WaitForStateAsync("settle", "mastodon-main", "failed", second);
        Assert.Single(Fake.To("/api/v1/statuses"));
        Assert.True(job.GetProperty("nextAttemptAt").GetDateTimeOffset() > stoppedAt.AddMinutes(2.5), job.GetRawText());
    }

    [Fact]
    public async Task NodeStoppedMidJob_SecondNodeFinishesIt_AndNothingIsPostedTwice()
    {
        await PublishArticleAsync("handover", "Handover");
        await PublishArticleAsync("handover-x", "Handover X");
        var second = Node();
        Fake.Script("/api/v1/statuses", Fault.Hang);
        Fake.Script("/2/tweets", Fault.Hang);
        using (var editor = First.Editor())
        {
            (await editor.PostJsonAsync("/api/articles/handover/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();
            (await editor.PostJsonAsync("/api/articles/handover-x/shares", new { accounts = new[] { "x-main" } })).EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(() => Fake.To("/api/v1/statuses").Any() && Fake.To("/2/tweets").Any(), "both requests in flight");
        await StopAsync(First);

        var mastodon = await WaitForTerminalAsync("handover", "mastodon-main", node: second);
        var x = await WaitForTerminalAsync("handover-x", "x-main", node: second);

        Assert.Equal("posted", mastodon.GetProperty("state").GetString());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
        Assert.True(x.GetProperty("state").GetString() is "posted" or "unconfirmed");
        Assert.True(Fake.PostsOn("x") <= 1);
    }

    [Fact]
    public async Task Retry_OfAJobThatUsedUpItsAttempts_GetsAttemptsOfItsOwn()
    {
        var node = Node(configure: s =>
        {
            s[Setting("mastodon-main") + "Resilience:MaxRetries"] = "0";
            s["Social:MaxAttempts"] = "2";
        });
        await PublishArticleAsync("outage", "Outage");
        await StopAsync(First);
        Fake.Script("/api/v1/statuses", Fault.Answer(429), Fault.Answer(429), Fault.Answer(429));
        await ShareOnAsync(node, "outage", "mastodon-main");
        var dead = await WaitForTerminalAsync("outage", "mastodon-main", node: node);
        Assert.Equal("dead", dead.GetProperty("state").GetString());

        using var editor = node.Editor();
        (await editor.PostJsonAsync($"/api/shares/{dead.GetProperty("id").GetString()}/retry", new { })).EnsureSuccessStatusCode();

        // One more 429 after the retry, then the post: within the two attempts the retry has.
        var job = await WaitForStateAsync("outage", "mastodon-main", "posted", node);
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Share_PostsTaggedWithTheNewsroomsLanguage()
    {
        var node = Node(configure: s => s["Feeds:Language"] = "pt-BR");
        await PublishArticleAsync("enchente", "Enchente no porto");
        await StopAsync(First);
        await ShareOnAsync(node, "enchente", "mastodon-main", "bluesky-main");

        Assert.Equal("posted", (await WaitForTerminalAsync("enchente", "mastodon-main", node: node)).GetProperty("state").GetString());
        Assert.Equal("posted", (await WaitForTerminalAsync("enchente", "bluesky-main", node: node)).GetProperty("state").GetString());
        // Bluesky takes the BCP 47 tag; Mastodon an ISO 639 code, the tag's language without its region.
        var record = Fake.To("/xrpc/com.atproto.repo.createRecord").Single().Json.GetProperty("record");
        Assert.Equal(["pt-BR"], record.GetProperty("langs").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("pt", Fake.To("/api/v1/statuses").Single().Json.GetProperty("language").GetString());
    }

    [Fact]
    public async Task Share_RefusedByThisServicesOwnRateLimit_WaitsWithoutUsingAnAttempt()
    {
        // One attempt allowed: a refusal that sent nothing must not be it.
        var node = Node(configure: s =>
        {
            s[Setting("mastodon-main") + "Resilience:PostsPerMinute"] = "1";
            s["Social:MaxAttempts"] = "1";
        });
        await PublishArticleAsync("first-of-two", "First");
        await PublishArticleAsync("second-of-two", "Second");
        await StopAsync(First);
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/articles/first-of-two/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();
        Assert.Equal("posted", (await WaitForTerminalAsync("first-of-two", "mastodon-main", node: node)).GetProperty("state").GetString());

        var editorHub = await node.ConnectAsync(options => options.Headers["X-Api-Key"] = LiveNewsNode.EditorKey);
        Owned.Add(editorHub);
        var newsroom = new System.Collections.Concurrent.ConcurrentQueue<string>();
        editorHub.On<JsonElement>("event", e => newsroom.Enqueue(e.GetRawText()));
        await editorHub.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } });
        (await editor.PostJsonAsync("/api/articles/second-of-two/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();

        var waiting = await WaitForStateAsync("second-of-two", "mastodon-main", "failed", node);
        Assert.Equal(0, waiting.GetProperty("attempts").GetInt32());
        Assert.Contains("own rate limit", waiting.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, Fake.PostsOn("mastodon"));

        // Nothing was sent, so it was never "posting": newsroom saw it queued, then waiting.
        await Eventually.TrueAsync(() => newsroom.Any(e => e.Contains("share.failed", StringComparison.Ordinal) && e.Contains("second-of-two", StringComparison.Ordinal)), "the wait on newsroom");
        Assert.DoesNotContain(newsroom, e => e.Contains("share.posting", StringComparison.Ordinal) && e.Contains("second-of-two", StringComparison.Ordinal));

        // Refused again a window segment (10 s) later: its due time moves, and newsroom is not told the same again.
        using var reader = node.Editor();
        var firstDue = waiting.GetProperty("nextAttemptAt").GetString();
        await Eventually.TrueAsync(async () => (await JobAsync(reader, "second-of-two", "mastodon-main")).GetProperty("nextAttemptAt").GetString() != firstDue,
            "the share refused again by the rate limit", seconds: 40);
        Assert.Single(newsroom, e => e.Contains("share.failed", StringComparison.Ordinal) && e.Contains("second-of-two", StringComparison.Ordinal));
        Assert.Equal(1, Fake.PostsOn("mastodon"));
    }

    [Fact]
    public async Task Credentials_EveryNetworkLoggedAtTrace_NeverAppearInLogsResponsesOrEvents()
    {
        var logs = new CapturedLogs();
        var node = Node(logs);
        var editorHub = await node.ConnectAsync(options => options.Headers["X-Api-Key"] = LiveNewsNode.EditorKey);
        Owned.Add(editorHub);
        var newsroom = new System.Collections.Concurrent.ConcurrentQueue<string>();
        editorHub.On<JsonElement>("event", e => newsroom.Enqueue(e.GetRawText()));
        await editorHub.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } });
        await PublishArticleAsync("secrets", "Secrets");
        Fake.Script("/api/v1/statuses", Fault.Answer(503));
        Fake.Script("/xrpc/com.atproto.repo.createRecord", Fault.Answer(400, """{"error":"ExpiredToken"}"""));
        using var editor = node.Editor();
        var responses = new List<string>();
        foreach (var account in AllAccounts)
        {
            var response = await editor.PostJsonAsync("/api/articles/secrets/shares", new { accounts = new[] { account } });
            responses.Add(await response.Content.ReadAsStringAsync());
        }

        foreach (var account in AllAccounts)
        {
            await WaitForTerminalAsync("secrets", account, node: node);
        }

        responses.Add(await editor.GetStringAsync("/api/articles/secrets/shares"));
        await Eventually.TrueAsync(() => newsroom.Any(e => e.Contains("share.posted", StringComparison.Ordinal)), "share events on newsroom");
        Assert.Contains(newsroom, e => e.Contains("\"remoteUrl\":\"https://", StringComparison.Ordinal));
        Assert.NotEmpty(logs.Lines);
        Assert.Contains(logs.Lines, line => line.StartsWith("Trace", StringComparison.Ordinal));
        var secrets = new[] { FakeNetworks.Token, FakeNetworks.BlueskyPassword, FakeNetworks.WebhookSecret, FakeNetworks.XClientSecret, "wrong-token", LiveNewsNode.EditorKey, "refresh-1", "access-1" }
            .Concat(Fake.XAccessTokens).Concat(Fake.XRefreshTokens).Concat(Fake.ThreadsTokens).ToList();
        Assert.True(secrets.Count > 10, "tokens were issued and refreshed");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(responses, body => body.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(newsroom, e => e.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task NewsroomTopic_ReaderIsRefused_EditorGetsShareStates()
    {
        var reader = await First.ConnectAsync();
        Owned.Add(reader);

        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() =>
            reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "newsroom" } }));
        var anonymous = await First.Anonymous().GetAsync("/api/topics/newsroom");
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);

        await PublishArticleAsync("states", "States");
        await ShareAndWaitAsync("states", "mastodon-main");
        using var editor = First.Editor();
        var topic = await editor.GetFromJsonAsync<JsonElement>("/api/topics/newsroom");
        var share = Assert.Single(topic.GetProperty("snapshot").GetProperty("shares").EnumerateArray());
        Assert.Equal("posted", share.GetProperty("state").GetString());
        Assert.True(topic.GetProperty("seq").GetInt64() >= 3, "queued, posting and posted were pushed");
    }
}
