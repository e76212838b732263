using System.Threading.RateLimiting;
using LiveNews.Server.Operations;
using LiveNews.Server.Social;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly;
using Polly.CircuitBreaker;

namespace LiveNews.Server.Tests.Social;

/// <summary>Backoff and breaker timing of the per-account pipeline, with time moved by the test.</summary>
public sealed class SharePipelinesTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-29T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task RateLimited_WithRetryAfter_WaitsExactlyThatLongThenRetries()
    {
        var pipeline = Build(new ShareResilienceOptions { BaseDelay = TimeSpan.FromMilliseconds(100), MaxInProcessWait = TimeSpan.FromSeconds(30) });
        var calls = 0;

        var run = pipeline.ExecuteAsync(_ => ValueTask.FromResult(++calls == 1
            ? PostOutcome.RateLimited("429", TimeSpan.FromSeconds(20))
            : PostOutcome.Posted("1", null))).AsTask();

        await WaitUntilAsync(() => calls == 1);
        _time.Advance(TimeSpan.FromSeconds(19.9));
        await Task.Yield();
        Assert.False(run.IsCompleted);
        Assert.Equal(1, calls);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(OutcomeKind.Posted, outcome.Kind);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task RateLimited_LongerThanInProcessBudget_IsReturnedForTheDurableQueue()
    {
        var pipeline = Build(new ShareResilienceOptions { MaxInProcessWait = TimeSpan.FromSeconds(30) });
        var calls = 0;

        var outcome = await pipeline.ExecuteAsync(_ => { calls++; return ValueTask.FromResult(PostOutcome.RateLimited("429", TimeSpan.FromMinutes(15))); });

        Assert.Equal(OutcomeKind.RateLimited, outcome.Kind);
        Assert.Equal(TimeSpan.FromMinutes(15), outcome.RetryAfter);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Transient_BacksOffExponentially_GapsGrowBeyondAConstantDelay()
    {
        var pipeline = Build(new ShareResilienceOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxRetries = 5, BreakerMinimumThroughput = 100 });
        var calls = new List<DateTimeOffset>();

        var run = pipeline.ExecuteAsync(_ => { lock (calls) { calls.Add(_time.GetUtcNow()); } return ValueTask.FromResult(PostOutcome.Transient("503")); }).AsTask();

        await WaitUntilAsync(() => calls.Count == 1);
        for (var expected = 2; expected <= 6; expected++)
        {
            var before = calls.Count;
            for (var step = 0; step < 800 && calls.Count == before; step++)
            {
                _time.Advance(TimeSpan.FromMilliseconds(50));
                await Task.Delay(1);
            }

            Assert.Equal(expected, calls.Count);
        }

        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(OutcomeKind.Transient, outcome.Kind);

        // Each jittered wait is random, so one gap says little; their sum does not depend on the dice.
        // Polly's exponential jitter (decorrelated, V2) telescopes: five waits add up to
        // 2^(4+r) * tanh(sqrt(4 (4+r))) / 1.4 times the base for some r in [0, 1), at least 11.4 s here,
        // while a constant 1 s delay jittered by at most 25 % adds up to 6.25 s at most.
        var waited = calls[^1] - calls[0];
        Assert.True(waited > TimeSpan.FromSeconds(6.25), $"waited {waited} over five retries: {string.Join(", ", calls.Zip(calls.Skip(1), (a, b) => b - a))}");
    }

    [Fact]
    public async Task SharePipelines_Breaker_OpensForTheFailingAccountOnly()
    {
        var options = Options.Create(new SocialOptions
        {
            Accounts =
            [
                new SocialAccountOptions { Name = "a", Network = "mastodon", Resilience = new ShareResilienceOptions { MaxRetries = 0, BreakerMinimumThroughput = 4, BreakerBreakDuration = TimeSpan.FromSeconds(30) } },
                new SocialAccountOptions { Name = "b", Network = "mastodon", Resilience = new ShareResilienceOptions { MaxRetries = 0, BreakerMinimumThroughput = 4, BreakerBreakDuration = TimeSpan.FromSeconds(30) } },
            ],
        });
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new LiveNewsMetrics(meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        using var pipelines = new SharePipelines(options, [], _time, metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger<SharePipelines>.Instance);

        for (var i = 0; i < 4; i++)
        {
            await pipelines.For("a").ExecuteAsync(_ => ValueTask.FromResult(PostOutcome.Transient("503")));
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(async () => await pipelines.For("a").ExecuteAsync(_ => ValueTask.FromResult(PostOutcome.Posted("1", null))));
        Assert.True(pipelines.IsBreakerOpen("a"));
        Assert.False(pipelines.IsBreakerOpen("b"));
        Assert.Equal(OutcomeKind.Posted, (await pipelines.For("b").ExecuteAsync(_ => ValueTask.FromResult(PostOutcome.Posted("2", null)))).Kind);
    }

    private ResiliencePipeline<PostOutcome> Build(ShareResilienceOptions options)
    {
        var builder = new ResiliencePipelineBuilder<PostOutcome>();
        var limiter = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions { PermitLimit = 1000, Window = TimeSpan.FromMinutes(1), SegmentsPerWindow = 6 });
        SharePipelines.Configure(builder, options, safeAfterUnknown: true, limiter, _time);
        return builder.Build();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            await Task.Delay(5);
        }
    }
}
