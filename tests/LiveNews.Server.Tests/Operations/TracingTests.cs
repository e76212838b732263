using System.Collections.Concurrent;
using System.Text;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace LiveNews.Server.Tests.Operations;

/// <summary>
/// Traces go to an OTLP collector when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (and are not recorded when it
/// is not): an editor request with its publish inside it reaches a collector on loopback.
/// </summary>
[Collection("redis")]
public sealed class TracingTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Traces_WithAnOtlpEndpoint_EditorRequestAndItsPublishReachTheCollector()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var node = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:KeyPrefix"] = Eventually.Prefix(),
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        using var editor = node.Editor();

        (await editor.PostJsonAsync("/api/breaking", new { headline = "Traced" })).EnsureSuccessStatusCode();

        // OTLP protobuf carries span names and attribute values as plain UTF-8.
        await Eventually.TrueAsync(
            () => collector.Traces.Any(body => body.Contains("livenews.publish", StringComparison.Ordinal))
                && collector.Traces.Any(body => body.Contains("/api/breaking", StringComparison.Ordinal)),
            "the request's and the publish's spans at the collector");
    }

    [Fact]
    public void Traces_WithoutAnOtlpEndpoint_AreNotRecorded()
    {
        using var node = new LiveNewsNode(redis.Configuration, Eventually.Prefix());

        Assert.Null(node.Services.GetService<TracerProvider>());
    }

    /// <summary>An OTLP/HTTP collector on loopback: keeps what is posted to <c>/v1/traces</c>.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private OtlpCollector(WebApplication app) => _app = app;

        public ConcurrentQueue<string> Traces { get; } = new();

        public string Address => _app.Services.ListeningAddress();

        public static async Task<OtlpCollector> StartAsync()
        {
            var app = LoopbackApp.Create();
            var collector = new OtlpCollector(app);
            app.MapPost("/v1/traces", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector.Traces.Enqueue(Encoding.Latin1.GetString(body.ToArray()));
                return Results.Ok();
            });
            app.MapPost("/v1/{signal}", () => Results.Ok());
            await app.StartAsync();
            return collector;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
