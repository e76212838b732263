using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveNews.Bench;

internal sealed record PushResult(int Subscriptions, int Received, double Seconds, double PushesPerSecond, double ServerCpuSeconds);

/// <summary>
/// Web Push throughput: one breaking alert to many subscriptions, sent by a LiveNews node to a push service
/// on loopback that answers 201 at once (it checks nothing: the tests do). Measures from the publish to the
/// last push received.
/// </summary>
internal static class PushScenario
{
    public static async Task<PushResult> RunAsync(int subscriptions)
    {
        await using var pushService = await AcceptingPushService.StartAsync();
        using var vapid = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = vapid.ExportParameters(true);
        await using var servers = await Servers.StartLiveNewsAsync(1, new Dictionary<string, string>
        {
            // Testing lets a push service on loopback http be subscribed; nothing else differs for the node.
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Push__Subject"] = "mailto:bench@news.example",
            ["Push__PublicKey"] = Base64Url.EncodeToString([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]),
            ["Push__PrivateKey"] = Base64Url.EncodeToString(parameters.D!),
            ["Push__Concurrency"] = "64",
            ["Push__PollInterval"] = "00:00:00.100",
        });

        // Every subscription has its own endpoint; they share one browser key pair (encryption still runs per push).
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = browser.ExportParameters(false).Q;
        var p256dh = Base64Url.EncodeToString([0x04, .. q.X!, .. q.Y!]);
        var auth = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = servers.Url };
        await Parallel.ForEachAsync(Enumerable.Range(0, subscriptions), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, token) =>
        {
            using var response = await http.PostAsJsonAsync("/api/push/subscriptions", new { endpoint = $"{pushService.BaseAddress}push/{i}", keys = new { p256dh, auth } }, token);
            response.EnsureSuccessStatusCode();
        });

        using var editor = new HttpClient { BaseAddress = servers.Url };
        editor.DefaultRequestHeaders.Add("X-Api-Key", Servers.ApiKey);
        var cpuBefore = servers.Process.CpuSeconds();
        var start = Stopwatch.GetTimestamp();
        (await editor.PostAsJsonAsync("/api/breaking", new { headline = "Bench alert", url = "https://news.example/bench" })).EnsureSuccessStatusCode();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60 + (subscriptions / 500));
        while (pushService.Received < subscriptions && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = servers.Process.CpuSeconds() - cpuBefore;
        return new PushResult(subscriptions, pushService.Received, seconds, pushService.Received / seconds, cpu);
    }

    /// <summary>Answers every push with 201 Created and counts them.</summary>
    private sealed class AcceptingPushService : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _received;

        private AcceptingPushService(WebApplication app) => _app = app;

        public int Received => Volatile.Read(ref _received);

        public Uri BaseAddress { get; private set; } = null!;

        public static async Task<AcceptingPushService> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var service = new AcceptingPushService(app);
            app.MapPost("/push/{id}", async (HttpRequest request) =>
            {
                await request.Body.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref service._received);
                return Results.StatusCode(StatusCodes.Status201Created);
            });
            await app.StartAsync();
            service.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
            return service;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
