using LiveNews.Server.Social;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Social;

/// <summary>
/// The share store's create script on each store: it reads the article's other jobs by keys it builds itself
/// (under the <c>{shares}</c> hash tag), which the embedded store must allow as Redis does.
/// </summary>
public abstract class ShareStoreTests<TStore>(TStore store) : IAsyncLifetime
    where TStore : IStoreFixture
{
    private readonly Owned _owned = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _owned.DisposeAsync();

    [Fact]
    public async Task Create_AnotherJobOfTheArticleForTheAccount_ReturnsThatOneUnlessDeadOrForced()
    {
        var node = _owned.Add(new LiveNewsNode(store.Configuration, Eventually.Prefix()));
        var shares = node.Services.GetRequiredService<ShareStore>();

        var first = await shares.CreateAsync(Job("s-first", "mastodon-main"), force: false);
        var racing = await shares.CreateAsync(Job("s-racing", "mastodon-main"), force: false);
        var otherAccount = await shares.CreateAsync(Job("s-other", "bluesky-main"), force: false);
        var forced = await shares.CreateAsync(Job("s-forced", "mastodon-main"), force: true);

        Assert.Equal("s-first", first.Id);
        Assert.Equal("s-first", racing.Id);
        Assert.Equal("s-other", otherAccount.Id);
        Assert.Equal("s-forced", forced.Id);
        Assert.Equal(["s-first", "s-forced", "s-other"], (await shares.ForArticleAsync("story")).Select(j => j.Id).Order());
    }

    [Fact]
    public async Task Create_AfterTheAccountsJobDied_MakesANewOne()
    {
        var node = _owned.Add(new LiveNewsNode(store.Configuration, Eventually.Prefix()));
        var shares = node.Services.GetRequiredService<ShareStore>();
        var first = await shares.CreateAsync(Job("s-dies", "mastodon-main"), force: false);
        var (_, token) = Assert.Single(await shares.TakeDueAsync(DateTimeOffset.UtcNow.AddSeconds(1), TimeSpan.FromMinutes(1), 10));
        Assert.True(await shares.SaveAsync(first with { State = ShareStates.Dead }, token, null, release: true));

        var again = await shares.CreateAsync(Job("s-again", "mastodon-main"), force: false);

        Assert.Equal("s-again", again.Id);
    }

    private static ShareJob Job(string id, string account) => new()
    {
        Id = id,
        ArticleId = "story",
        Account = account,
        Network = account[..account.IndexOf('-', StringComparison.Ordinal)],
        State = ShareStates.Queued,
        CreatedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
        IdempotencyKey = $"livenews-{id}",
    };
}

[Collection("redis")]
public sealed class RedisShareStoreTests(RedisFixture redis) : ShareStoreTests<RedisFixture>(redis), IClassFixture<RedisFixture>;

[Collection("garnet")]
public sealed class GarnetShareStoreTests(GarnetFixture garnet) : ShareStoreTests<GarnetFixture>(garnet), IClassFixture<GarnetFixture>;

[Collection("cluster")]
public sealed class ClusterShareStoreTests(RedisClusterFixture cluster) : ShareStoreTests<RedisClusterFixture>(cluster), IClassFixture<RedisClusterFixture>;
