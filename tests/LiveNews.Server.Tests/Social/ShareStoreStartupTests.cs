using LiveNews.Server.Social;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Social;

/// <summary>A node takes share requests (and its worker takes due jobs) from its start, before its first connect to Redis has finished.</summary>
[Collection("faults")]
public sealed class ShareStoreStartupTests : OwnRedisTest
{
    [Fact]
    public async Task Create_WhileTheNodesFirstConnectWaitsForRedis_WaitsForItInsteadOfFailing()
    {
        await Redis.PauseAsync(TimeSpan.FromSeconds(2));
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var shares = node.Services.GetRequiredService<ShareStore>();

        var job = await shares.CreateAsync(new ShareJob
        {
            Id = "s-early",
            ArticleId = "story",
            Account = "mastodon-main",
            Network = Networks.Mastodon,
            State = ShareStates.Queued,
            CreatedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
            IdempotencyKey = "livenews-s-early",
        }, force: false);

        Assert.Equal("s-early", job.Id);
        Assert.Equal("s-early", (await shares.GetAsync("s-early"))?.Id);
    }
}
