using System.Net;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Deploy;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LiveNews.Server.Tests.Deploy;

/// <summary>
/// A node told to stop (SIGTERM: the host's ApplicationStopping) drains: readiness fails at once, new
/// connections and writes get 503 + Retry-After, the work in flight finishes, the relay keeps relaying
/// meanwhile, and only then are hub clients sent away with a close message that lets them reconnect.
/// </summary>
[Collection("redis")]
public sealed class DrainTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private readonly Owned _owned = new();
    private readonly string _prefix = $"drain-{Guid.NewGuid():N}"[..32];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _owned.DisposeAsync();

    [Fact]
    public async Task Stopping_WithAWriteInFlight_RefusesNewWorkRelaysUntilItEndsThenTellsReadersToReconnect()
    {
        var draining = _owned.Add(new LiveNewsNode(redis.Configuration, _prefix, new() { ["Realtime:DrainTimeout"] = "00:00:30" }));
        var other = _owned.Add(new LiveNewsNode(redis.Configuration, _prefix));
        var reader = new HubReader(new Uri($"ws://127.0.0.1:{draining.BaseAddress.Port}/hubs/live"), "breaking", IPAddress.Loopback);
        await reader.StartAsync();
        var drain = draining.Services.GetRequiredService<Drain>();
        var inFlight = drain.Begin();

        var lifetime = draining.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = Task.Run(lifetime.StopApplication);
        await Eventually.TrueAsync(() => drain.IsDraining, "the node to drain");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await draining.Anonymous().GetAsync("/health/ready")).StatusCode);
        var write = await draining.Editor().PostJsonAsync("/api/breaking", new { headline = "Refused" }, idempotencyKey: "refused-1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), write.Headers.RetryAfter?.Delta);
        Assert.Equal("Node draining", JsonDocument.Parse(await write.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await draining.Anonymous().PostAsync("/hubs/live/negotiate?negotiateVersion=1", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await draining.Anonymous().GetAsync("/health/live")).StatusCode);

        // While the write is in flight, readers of the draining node still get what is published elsewhere.
        (await other.Editor().PostJsonAsync("/api/breaking", new { headline = "During the drain" }, idempotencyKey: "during-1")).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => reader.Seqs.Count == 1, "the event published during the drain to reach the draining node's reader");
        Assert.Equal(0, reader.ToldToReconnect + reader.Dropped);
        Assert.False(stopping.IsCompleted);

        inFlight.Dispose();
        await Eventually.WithinAsync(stopping.ContinueWith(_ => true, TaskScheduler.Default), "the drain to end", seconds: 20);
        await Eventually.TrueAsync(() => reader.ToldToReconnect == 1, $"the reader to be told to reconnect (dropped {reader.Dropped}, connections {reader.Connections})");
        Assert.Empty(reader.Problems);
        await reader.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_DuringAnEditorWrite_WaitsForItsAnswer()
    {
        var logs = new CapturedLogs();
        var held = new HeldPublish();
        var node = _owned.Add(new LiveNewsNode(redis.Configuration, _prefix, logs: logs, services: services => services.AddSingleton<IPublishObserver>(held)));
        var drain = node.Services.GetRequiredService<Drain>();
        var lifetime = node.Services.GetRequiredService<IHostApplicationLifetime>();
        using var editor = node.Editor();

        // The write is published and held before its answer: in flight when the node is told to stop.
        var write = editor.PostJsonAsync("/api/breaking", new { headline = "In flight" }, idempotencyKey: "in-flight-1");
        Task stopping;
        try
        {
            await held.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1, drain.InFlight);
            stopping = Task.Run(lifetime.StopApplication);
            await Eventually.TrueAsync(() => drain.IsDraining, "the node to drain");

            // Given half a second, the node still waits for the held write.
            Assert.NotSame(stopping, await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromMilliseconds(500))));
            Assert.False(write.IsCompleted, "the write answered before it was let go");
        }
        finally
        {
            held.Release();
        }

        Assert.Equal(HttpStatusCode.Created, (await write).StatusCode);
        await Eventually.WithinAsync(stopping.ContinueWith(_ => true, TaskScheduler.Default), "the drain to end", seconds: 20);
        Assert.Contains(logs.Lines, line => line.Contains("waiting up to 00:00:10 for 1 writes", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains("Drain timed out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stopping_WithNothingInFlight_DrainsAtOnceAndTakesNoNewWork()
    {
        var node = _owned.Add(new LiveNewsNode(redis.Configuration, _prefix));
        var drain = node.Services.GetRequiredService<Drain>();
        var lifetime = node.Services.GetRequiredService<IHostApplicationLifetime>();
        var started = DateTime.UtcNow;

        await Task.Run(lifetime.StopApplication);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Null(drain.TryBegin());
    }

    /// <summary>
    /// A node a test "kills" (disposes) with readers connected used to take ~20 s to stop, relaying and working
    /// jobs all along, while its clients held their connections; it now sends them away and stops at once.
    /// </summary>
    [Fact]
    public async Task Dispose_WithReadersConnected_StopsRelayingPromptly()
    {
        var logs = new CapturedLogs();
        var node = new LiveNewsNode(redis.Configuration, _prefix, logs: logs);
        var relay = node.Services.GetRequiredService<LiveNews.Server.Bus.EventRelay>();
        await using var client = await node.ClientAsync();
        await using var connection = await node.ConnectAsync();
        var reader = new HubReader(new Uri($"ws://127.0.0.1:{node.BaseAddress.Port}/hubs/live"), "live", IPAddress.Loopback);
        await reader.StartAsync();
        var stopping = System.Diagnostics.Stopwatch.StartNew();

        await node.DisposeAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"the node took {stopping.Elapsed} to stop");
        Assert.True(relay.ExecuteTask?.IsCompleted);
        Assert.Contains(logs.Lines, line => line.Contains("closed 3 hub connections", StringComparison.Ordinal));
        await reader.DisposeAsync();
    }

    [Fact]
    public void Start_WithWorkInFlight_CompletesWhenTheLastEnds()
    {
        var drain = new Drain();
        var first = drain.TryBegin()!;
        var second = drain.TryBegin()!;

        var idle = drain.Start();
        first.Dispose();
        first.Dispose();

        Assert.False(idle.IsCompleted);
        Assert.Null(drain.TryBegin());
        second.Dispose();
        Assert.True(idle.IsCompletedSuccessfully);
    }

    [Fact]
    public void DrainTimeout_OutOfRange_StopsStartNamingTheSetting()
    {
        var failure = Assert.ThrowsAny<Exception>(() => new LiveNewsNode(redis.Configuration, _prefix, new() { ["Realtime:DrainTimeout"] = "01:00:00" }));
        Assert.Contains("Realtime:DrainTimeout", failure.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Holds the first publish after Redis took it, before the editor's answer, until released.</summary>
    private sealed class HeldPublish : IPublishObserver
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        public Task ChangingAsync(Topic topic) => Task.CompletedTask;

        public Task ChangedAsync(Topic topic) => _reached.TrySetResult() ? _released.Task : Task.CompletedTask;
    }
}
