using LiveNews.Server.Deploy;
using LiveNews.Server.Tests.Infrastructure;
using LiveNews.Server.Tests.Social;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LiveNews.Server.Tests.Deploy;

/// <summary>A node told to stop lets the share posts it has in flight finish (within Realtime:DrainTimeout) before it goes.</summary>
[Collection("redis")]
public sealed class ShareDrainTests(RedisFixture redis) : ShareTestBase(redis), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Stopping_WithASharePostInFlight_FinishesItFirst()
    {
        await PublishArticleAsync("drain", "Drain");
        await First.DisposeAsync();

        // The node to stop, whose post may take its time: no attempt timeout or lease runs out while the network holds it.
        var node = Node(configure: settings =>
        {
            settings["Social:LeaseDuration"] = "00:01:00";
            settings[Setting("mastodon-main") + "Resilience:AttemptTimeout"] = "00:00:30";
        });
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Fake.Script("/api/v1/statuses", Fault.HeldUntil(answer.Task));
        using (var editor = node.Editor())
        {
            (await editor.PostJsonAsync("/api/articles/drain/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();
        }

        Task stopping;
        try
        {
            await Eventually.TrueAsync(() => Fake.To("/api/v1/statuses").Any(), "the post to be in flight");
            var drain = node.Services.GetRequiredService<Drain>();
            stopping = Task.Run(node.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication);
            await Eventually.TrueAsync(() => drain.IsDraining, "the node to drain");

            // Given half a second, the node still waits for the post: it ends only once the network has answered.
            Assert.NotSame(stopping, await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromMilliseconds(500))));
            Assert.Equal(1, drain.InFlight);
        }
        finally
        {
            answer.TrySetResult();
        }
        await Eventually.WithinAsync(stopping.ContinueWith(_ => true, TaskScheduler.Default), "the drain to end", seconds: 20);

        Assert.Equal(1, Fake.PostsOn("mastodon"));
        var job = await WaitForTerminalAsync("drain", "mastodon-main", node: Node());
        Assert.Equal("posted", job.GetProperty("state").GetString());
    }
}
