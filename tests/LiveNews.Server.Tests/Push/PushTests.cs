using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Push;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LiveNews.Server.Tests.Push;

/// <summary>
/// Web Push of breaking alerts against a real redis-server and a loopback push service that checks the
/// VAPID JWT and decrypts every payload with the subscription's keys.
/// </summary>
[Collection("redis")]
public sealed class PushTests : OwnRedisTest
{
    private const string Subject = "mailto:newsroom@news.example";

    private readonly (string PublicKey, string PrivateKey) _keys = VapidKeys.Generate();
    private FakePushService _push = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _push = Track(new FakePushService(_keys.PublicKey, Subject));
    }

    [Fact]
    public async Task Push_AlertPublishedThenUpdated_EveryBrowserGetsBothSignedAndDecryptableUnderOneTopic()
    {
        var node = Node();
        var browsers = Enumerable.Range(0, 3).Select(_ => _push.NewSubscription()).ToArray();
        foreach (var browser in browsers)
        {
            await SubscribeAsync(node, browser);
        }

        using var editor = node.Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "Dam breached upstream", url = "https://news.example/dam" });
        await Eventually.TrueAsync(() => _push.Received.Count == 3, "the alert at every browser");
        (await editor.PutJsonAsync($"/api/breaking/{alertId}", new { headline = "Dam breached: evacuate the valley", url = "https://news.example/dam" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => _push.Received.Count == 6, "the update at every browser");

        Assert.Empty(_push.Refusals);
        foreach (var browser in browsers)
        {
            var pushes = _push.Of(browser);
            Assert.Equal(["breaking.published", "breaking.updated"], pushes.Select(p => p.Payload.GetProperty("type").GetString()));
            Assert.Equal(["Dam breached upstream", "Dam breached: evacuate the valley"], pushes.Select(p => p.Payload.GetProperty("headline").GetString()));
            // Positions in breaking, so the service worker can tell an older push of the alert arriving late.
            Assert.True(pushes[1].Payload.GetProperty("seq").GetInt64() > pushes[0].Payload.GetProperty("seq").GetInt64());
            Assert.Single(pushes.Select(p => p.Payload.GetProperty("epoch").GetString()).Distinct(), epoch => !string.IsNullOrEmpty(epoch));
            Assert.All(pushes, push =>
            {
                Assert.Equal(alertId, push.Payload.GetProperty("id").GetString());
                Assert.Equal("https://news.example/dam", push.Payload.GetProperty("url").GetString());
                Assert.Equal("high", push.Urgency);
                Assert.InRange(push.TimeToLive, (6 * 3600) - 60, 6 * 3600);
                Assert.InRange(push.Topic.Length, 1, 32);
            });
        }

        // One Topic for every push of the alert, so the update replaces the first on a device that was away.
        Assert.Single(_push.Received.Select(p => p.Topic).Distinct());
    }

    [Fact]
    public async Task Push_EmbeddedStore_AlertReachesEveryBrowserOnce()
    {
        using var garnet = new GarnetFixture();
        var a = Node(garnet.Configuration);
        var b = Node(garnet.Configuration);
        var browsers = Enumerable.Range(0, 4).Select(_ => _push.NewSubscription()).ToArray();
        foreach (var browser in browsers)
        {
            await SubscribeAsync(b, browser);
        }

        using var editor = a.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "On the embedded store" })).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => _push.Received.Count == 4, "the alert at every browser");
        Assert.All(browsers, browser => Assert.Single(_push.Of(browser)));
        Assert.Empty(_push.Refusals);
    }

    [Fact]
    public async Task Push_PushServiceAnswers410_SubscriptionRemovedAndNeverPushedAgain()
    {
        var node = Node();
        var gone = _push.NewSubscription();
        var kept = _push.NewSubscription();
        await SubscribeAsync(node, gone);
        await SubscribeAsync(node, kept);
        _push.Answer(gone, 410);

        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "First" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => _push.Of(kept).Count == 1 && _push.Requests == 2, "both pushes tried");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        await Eventually.TrueAsync(async () => !await redis.GetDatabase().KeyExistsAsync($"{Prefix}:{{push}}:sub:{PushSubscriptions.IdOf(gone.Endpoint.ToString())}"), "the gone subscription removed");
        Assert.Null(await redis.GetDatabase().SortedSetScoreAsync($"{Prefix}:{{push}}:topic:breaking", PushSubscriptions.IdOf(gone.Endpoint.ToString())));

        (await editor.PostJsonAsync("/api/breaking", new { headline = "Second" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => _push.Of(kept).Count == 2, "the second alert at the kept browser");
        Assert.Equal(3, _push.Requests);
        Assert.Empty(_push.Of(gone));
    }

    [Fact]
    public async Task Push_TwoNodes_EverySubscriptionGetsEveryAlertExactlyOnce()
    {
        var a = Node(concurrency: 2);
        var b = Node(concurrency: 2);
        var browsers = Enumerable.Range(0, 40).Select(_ => _push.NewSubscription()).ToArray();
        foreach (var (browser, i) in browsers.Select((browser, i) => (browser, i)))
        {
            await SubscribeAsync(i % 2 == 0 ? a : b, browser);
        }

        using (var editor = a.Editor())
        {
            for (var i = 1; i <= 3; i++)
            {
                (await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" })).EnsureSuccessStatusCode();
            }
        }

        await Eventually.TrueAsync(() => _push.Received.Count >= 120, "every alert at every browser");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        await Eventually.TrueAsync(async () => await redis.GetDatabase().ListLengthAsync($"{Prefix}:{{push}}:alerts") == 0, "the queue drained");

        Assert.Equal(120, _push.Received.Count);
        Assert.Empty(_push.Refusals);
        Assert.All(browsers, browser => Assert.Equal(
            ["Alert 1", "Alert 2", "Alert 3"],
            _push.Of(browser).Select(p => p.Payload.GetProperty("headline").GetString()).Order()));
        Assert.Equal(120, a.Services.GetRequiredService<PushSender>().Sent + b.Services.GetRequiredService<PushSender>().Sent);
    }

    // A node stopped (a deploy) while it sends a batch: the recipients it had not started go back to the queue
    // for another node; the two in flight when it stopped may have got the alert, and are not sent twice.
    [Fact]
    public async Task Push_NodeStoppedMidBatch_RecipientsNotStartedGoToAnotherNode()
    {
        const int Browsers = 20;
        var stopping = new LiveNewsNode(Redis.Configuration, Prefix, Settings(concurrency: 2));
        foreach (var _ in Enumerable.Range(0, Browsers))
        {
            await SubscribeAsync(stopping, _push.NewSubscription());
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _push.Gate = release.Task;
        using (var editor = stopping.Editor())
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = "Storm warning" })).EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(() => _push.Requests == 2, "two pushes of a batch of eight under way");
        await stopping.DisposeAsync();
        Node(concurrency: 2);
        release.SetResult();

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        await Eventually.TrueAsync(async () => await redis.GetDatabase().ListLengthAsync($"{Prefix}:{{push}}:alerts") == 0, "the queue drained");
        Assert.InRange(_push.Received.Count, Browsers - 2, Browsers);
        Assert.All(_push.Received.GroupBy(push => push.SubscriptionId), pushes => Assert.Single(pushes));
    }

    [Fact]
    public async Task Push_PushServiceAnswers429WithRetryAfter_SentAgainAfterTheWait()
    {
        var (node, browser) = await NodeWithBrowserAsync();
        _push.Answer(browser, 429, retryAfter: "1");

        var clock = Stopwatch.StartNew();
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Slow down" })).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => _push.Of(browser).Count == 1, "the alert after the push service's wait");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"sent again after {clock.Elapsed.TotalMilliseconds:F0} ms, before Retry-After");
        Assert.Equal(2, _push.Requests);
    }

    // Redis away when an alert event reaches the queue: every node fails alike, and the relay does not hand the
    // event over again, so the queue keeps offering it until Redis is back. (The event here is a second one of
    // a live alert, offered by the test: the sender pushes only alerts that still exist.)
    [Fact]
    public async Task Push_RedisAwayWhenAnAlertEventIsQueued_QueuedOnceRedisIsBack()
    {
        var logs = new CapturedLogs();
        var node = Node(logs: logs);
        await SubscribeAsync(node, _push.NewSubscription());
        using var editor = node.Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "Bridge closed" });
        await Eventually.TrueAsync(() => _push.Received.Count == 1, "the alert at the browser");

        Redis.Kill();
        var queuing = node.Services.GetRequiredService<AlertQueue>().QueueUntilDoneAsync(
            new PushAlert("offered-while-away", "breaking", "breaking.updated", alertId, "Bridge closed both ways", null, DateTimeOffset.UtcNow), CancellationToken.None);
        await Eventually.TrueAsync(() => logs.Lines.Any(line => line.Contains("AlertQueue[1306]", StringComparison.Ordinal)), "an attempt to fail", seconds: 30);
        await Redis.StartAgainAsync();
        await queuing.WaitAsync(TimeSpan.FromSeconds(60));

        await Eventually.TrueAsync(() => _push.Received.Count == 2, "the event at the browser once Redis is back", seconds: 30);
        Assert.Equal("Bridge closed both ways", _push.Received.Last().Payload.GetProperty("headline").GetString());
    }

    // A push lives Push:MessageTimeToLive (6 h) from its alert event: one sent 5 h late (Redis was away) is held
    // by the push service for what is left, not 6 h more; one past it is not sent.
    [Fact]
    public async Task Push_AlertEventSentLate_LivesWhatIsLeftOfItsTimeToLive()
    {
        var (node, browser) = await NodeWithBrowserAsync();
        using var editor = node.Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "Bridge closed" });
        await Eventually.TrueAsync(() => _push.Received.Count == 1, "the alert at the browser");
        var queue = node.Services.GetRequiredService<AlertQueue>();

        await queue.QueueUntilDoneAsync(new PushAlert("late-event", "breaking", "breaking.updated", alertId, "Bridge closed both ways", null, DateTimeOffset.UtcNow.AddHours(-5)), CancellationToken.None);
        await Eventually.TrueAsync(() => _push.Received.Count == 2, "the late event at the browser");
        Assert.InRange(_push.Received.Last().TimeToLive, 3600 - 60, 3600);

        await queue.QueueUntilDoneAsync(new PushAlert("too-late-event", "breaking", "breaking.updated", alertId, "Bridge reopened", null, DateTimeOffset.UtcNow.AddHours(-7)), CancellationToken.None);
        await queue.QueueUntilDoneAsync(new PushAlert("next-event", "breaking", "breaking.updated", alertId, "Bridge reopened at noon", null, DateTimeOffset.UtcNow), CancellationToken.None);
        await Eventually.TrueAsync(() => _push.Received.Count == 3, "the next event at the browser");
        Assert.DoesNotContain(_push.Received, push => push.Payload.GetProperty("headline").GetString() == "Bridge reopened");
    }

    [Fact]
    public async Task Push_AlertRetractedWhileBeingSent_TheRestNeverGetItsHeadline()
    {
        // One push at a time; the first is held at the push service until the alert is retracted.
        var node = Node(concurrency: 1);
        var browsers = Enumerable.Range(0, 5).Select(_ => _push.NewSubscription()).ToArray();
        foreach (var browser in browsers)
        {
            await SubscribeAsync(node, browser);
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _push.Gate = release.Task;
        using var editor = node.Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "WRONG-HEADLINE", url = "https://news.example/wrong" });
        await Eventually.TrueAsync(() => _push.Requests >= 1, "the first push under way");
        (await editor.DeleteAsync($"/api/breaking/{alertId}")).EnsureSuccessStatusCode();
        release.SetResult();

        await Eventually.TrueAsync(() => browsers.All(b => _push.Of(b).Any(p => p.Payload.GetProperty("type").GetString() == "breaking.retracted")), "the retraction at every browser");
        // Only the push in flight when the alert was retracted: each push looks first, not each batch.
        var gotHeadline = browsers.Where(b => _push.Of(b).Any(p => Type(p) == "breaking.published")).ToArray();
        Assert.Single(gotHeadline);
        Assert.Equal("breaking.retracted", Type(_push.Of(gotHeadline[0])[^1]));
    }

    // Two nodes: one sends the headline, held at the push service, while the alert is retracted and the other node
    // sends the retraction. Accepted last, the headline would stand at the push service in the retraction's place
    // (same Topic) and be shown; the retraction follows it.
    [Fact]
    public async Task Push_HeadlineAcceptedAfterItsRetractionWasSentByAnotherNode_TheRetractionFollowsIt()
    {
        var nodes = new[] { Node(concurrency: 1), Node(concurrency: 1) };
        var browser = _push.NewSubscription();
        await SubscribeAsync(nodes[0], browser);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _push.Hold(browser, release.Task);
        using var editor = nodes[0].Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "WRONG-HEADLINE" });
        await Eventually.TrueAsync(() => _push.Requests == 1, "the headline under way, held");
        (await editor.DeleteAsync($"/api/breaking/{alertId}")).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => _push.Of(browser).Any(p => Type(p) == "breaking.retracted"), "the retraction, from the other node");

        release.SetResult();

        await Eventually.TrueAsync(() => _push.Of(browser).Any(p => Type(p) == "breaking.published"), "the headline accepted");
        await Eventually.TrueAsync(() => Type(_push.Of(browser)[^1]) == "breaking.retracted", "the retraction after the headline");
        var pushes = _push.Of(browser);
        Assert.Equal(["breaking.retracted", "breaking.published", "breaking.retracted"], pushes.Select(Type));
        Assert.Equal(pushes[0].Payload.GetProperty("seq").GetInt64(), pushes[2].Payload.GetProperty("seq").GetInt64());
        Assert.Single(pushes.Select(p => p.Topic).Distinct());
    }

    // The largest alert the editor API takes (a headline of 200 characters, emoji, a URL of 2,048 once
    // percent-encoded, full of '&') fits in one push message: with '&' escaped as \u0026, it did not, and every
    // push service refused it (413) for every subscriber. A URL that grows past 2,048 characters once encoded is
    // refused at the API, naming the field.
    [Fact]
    public async Task Push_LargestAlertTheApiAccepts_FitsInOnePushMessage()
    {
        var (node, browser) = await NodeWithBrowserAsync();
        using var editor = node.Editor();
        var headline = string.Concat(Enumerable.Repeat("\U0001F534", 100)); // emoji: the longest once encoded
        var url = "https://news.example/a?" + string.Concat(Enumerable.Repeat("k=v&", 506));
        Assert.InRange(url.Length, 2000, 2048);

        await PublishAlertAsync(editor, new { headline, url });

        await Eventually.TrueAsync(() => _push.Received.Count == 1 || !_push.Refusals.IsEmpty, "the alert at the browser");
        Assert.Empty(_push.Refusals);
        Assert.Equal(headline, _push.Of(browser)[0].Payload.GetProperty("headline").GetString());
        Assert.Equal(url, _push.Of(browser)[0].Payload.GetProperty("url").GetString());

        var grown = await editor.PostJsonAsync("/api/breaking", new { headline = "Too long once encoded", url = "https://news.example/" + new string('速', 300) });
        Assert.Equal(HttpStatusCode.BadRequest, grown.StatusCode);
        Assert.Contains("url", await grown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // The push service asked to wait (429) and the alert was retracted meanwhile: the retry is not sent, or the
    // false headline would follow the retraction onto the device (with two nodes, after it).
    [Fact]
    public async Task Push_AlertRetractedWhileARetryWaits_RetryNotSent()
    {
        var (node, browser) = await NodeWithBrowserAsync();
        _push.Answer(browser, 429, retryAfter: "2");
        using var editor = node.Editor();
        var alertId = await PublishAlertAsync(editor, new { headline = "WRONG-HEADLINE" });
        await Eventually.TrueAsync(() => _push.Requests >= 1, "the first try answered 429");
        (await editor.DeleteAsync($"/api/breaking/{alertId}")).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => _push.Of(browser).Any(p => p.Payload.GetProperty("type").GetString() == "breaking.retracted"), "the retraction");
        Assert.DoesNotContain(_push.Of(browser), p => p.Payload.GetProperty("type").GetString() == "breaking.published");
        Assert.Equal(2, _push.Requests);
    }

    [Fact]
    public async Task UnsubscribePush_ByEndpoint_NoMorePushes()
    {
        var node = Node();
        var leaving = _push.NewSubscription();
        var staying = _push.NewSubscription();
        await SubscribeAsync(node, leaving);
        await SubscribeAsync(node, staying);

        using var http = node.Anonymous();
        var removed = await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/push/subscriptions") { Content = JsonContent.Create(new { endpoint = leaving.Endpoint.ToString() }) });
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        using var editor = node.Editor();
        (await editor.PostJsonAsync("/api/breaking", new { headline = "After" })).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => _push.Of(staying).Count == 1, "the alert at the staying browser");
        Assert.Equal(1, _push.Requests);
    }

    [Fact]
    public async Task SubscribePush_BadInput_RefusedNamingTheFieldAndStoresNothing()
    {
        var node = Node();
        using var http = node.Anonymous();
        var browser = _push.NewSubscription();
        var good = (JsonElement)JsonSerializer.SerializeToElement(browser.Json());
        var p256dh = good.GetProperty("keys").GetProperty("p256dh").GetString();
        var auth = good.GetProperty("keys").GetProperty("auth").GetString();

        await AssertRefusedAsync(http, new { endpoint = "http://push.example/abc", keys = new { p256dh, auth } }, "endpoint");
        await AssertRefusedAsync(http, new { endpoint = "ftp://push.example/abc", keys = new { p256dh, auth } }, "endpoint");
        // Anonymous browsers name the endpoint: never one inside the server's own network.
        await AssertRefusedAsync(http, new { endpoint = "https://10.0.0.5:8443/admin/x", keys = new { p256dh, auth } }, "endpoint");
        await AssertRefusedAsync(http, new { endpoint = "https://169.254.169.254/latest/meta-data", keys = new { p256dh, auth } }, "endpoint");
        await AssertRefusedAsync(http, new { endpoint = "https://[fd00::1]/push", keys = new { p256dh, auth } }, "endpoint");
        await AssertRefusedAsync(http, new { endpoint = browser.Endpoint.ToString(), keys = new { p256dh = p256dh![..40], auth } }, "keys.p256dh");
        await AssertRefusedAsync(http, new { endpoint = browser.Endpoint.ToString(), keys = new { p256dh, auth = auth + "AAAA" } }, "keys.auth");
        await AssertRefusedAsync(http, new { endpoint = browser.Endpoint.ToString(), keys = new { p256dh, auth }, topics = new[] { "latest" } }, "topics");
        await AssertRefusedAsync(http, new { endpoint = browser.Endpoint.ToString(), keys = new { p256dh, auth }, topics = new[] { "newsroom" } }, "topics");
        await AssertRefusedAsync(http, new { endpoint = browser.Endpoint.ToString(), keys = new { p256dh, auth }, extra = 1 }, "extra");

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration + ",allowAdmin=true");
        Assert.Empty(redis.GetServer(redis.GetEndPoints()[0]).Keys(pattern: $"{Prefix}:{{push}}:*"));
        Assert.Equal(_keys.PublicKey, (await http.GetFromJsonAsync<JsonElement>("/api/push/key")).GetProperty("publicKey").GetString());
    }

    [Fact]
    public async Task SubscribePush_AnswersItsExpiryInUtc_AndPastTheCeilingIsRefusedWith409()
    {
        var settings = Settings(8);
        settings["Push:MaxSubscriptionsPerTopic"] = "1";
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, settings));
        using var http = node.Anonymous();

        var first = await http.PostAsJsonAsync("/api/push/subscriptions", _push.NewSubscription().Json());
        var second = await http.PostAsJsonAsync("/api/push/subscriptions", _push.NewSubscription().Json());

        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetString());
        // A full topic is no outage: 503 would also take the node out of a balancer's rotation (nginx max_fails).
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("Push:MaxSubscriptionsPerTopic", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_NoKeys_OffAndSaysSo()
    {
        var logs = new CapturedLogs();
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, logs: logs));
        using var http = node.Anonymous();

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/push/key")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/api/push/subscriptions", _push.NewSubscription().Json())).StatusCode);
        await Eventually.TrueAsync(() => logs.Lines.Any(m => m.Contains("Web Push is off", StringComparison.Ordinal)), "the log saying push is off");
    }

    [Theory]
    [InlineData("Push:PublicKey", "not-a-key", "Push:PublicKey")]
    [InlineData("Push:PrivateKey", "", "Push:PrivateKey")]
    [InlineData("Push:Subject", "newsroom@news.example", "Push:Subject")]
    [InlineData("Realtime:ViewerCountInterval", "00:00:00.001", "Realtime:ViewerCountInterval")]
    public void Start_BadSetting_FailsNamingIt(string setting, string value, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Push:Subject"] = Subject,
            ["Push:PublicKey"] = _keys.PublicKey,
            ["Push:PrivateKey"] = _keys.PrivateKey,
            [setting] = value,
        };

        var failed = Assert.ThrowsAny<Exception>(() => new LiveNewsNode(Redis.Configuration, Prefix, settings).Dispose());

        Assert.Contains(named, failed.ToString(), StringComparison.Ordinal);
    }

    private static async Task AssertRefusedAsync(HttpClient http, object body, string field)
    {
        var response = await http.PostAsJsonAsync("/api/push/subscriptions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"the problem names {field}: {problem}");
    }

    private static async Task SubscribeAsync(LiveNewsNode node, BrowserSubscription browser)
    {
        using var http = node.Anonymous();
        var response = await http.PostAsJsonAsync("/api/push/subscriptions", browser.Json());
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    // Publishes a breaking alert, and answers its id.
    private static async Task<string> PublishAlertAsync(HttpClient editor, object alert)
    {
        var published = await editor.PostJsonAsync("/api/breaking", alert);
        published.EnsureSuccessStatusCode();
        return (await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    // A node (eight pushes at a time) and one browser subscribed to breaking alerts through it.
    private async Task<(LiveNewsNode Node, BrowserSubscription Browser)> NodeWithBrowserAsync()
    {
        var node = Node();
        var browser = _push.NewSubscription();
        await SubscribeAsync(node, browser);
        return (node, browser);
    }

    private static string? Type(ReceivedPush push) => push.Payload.GetProperty("type").GetString();

    private LiveNewsNode Node(int concurrency = 8, CapturedLogs? logs = null) => Node(Redis.Configuration, concurrency, logs);

    private LiveNewsNode Node(string store, int concurrency = 8, CapturedLogs? logs = null) => Track(new LiveNewsNode(store, Prefix, Settings(concurrency), logs: logs));

    private Dictionary<string, string?> Settings(int concurrency) => new()
    {
        ["Push:Subject"] = Subject,
        ["Push:PublicKey"] = _keys.PublicKey,
        ["Push:PrivateKey"] = _keys.PrivateKey,
        ["Push:PollInterval"] = "00:00:00.050",
        ["Push:Concurrency"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("2606:4700::1111", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.31.255.1", false)]
    [InlineData("192.168.0.10", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd12:3456::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("64:ff9b::a00:5", false)] // NAT64 of 10.0.0.5
    [InlineData("2002:a00:5::1", false)] // 6to4 of 10.0.0.5
    [InlineData("2001:0:a00:5::1", false)] // Teredo
    [InlineData("::10.0.0.5", false)] // IPv4-compatible
    public void PushNetwork_OnlyInternetAddressesArePublic(string address, bool expected)
    {
        Assert.Equal(expected, PushNetwork.IsPublic(System.Net.IPAddress.Parse(address)));
    }
}
