using System.Net.Http.Headers;
using System.Net.Http.Json;
using LiveNews.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// One LiveNews server node: the real app on Kestrel, on a loopback port, against the given store.
/// Several nodes with the same store and key prefix form one deployment.
/// </summary>
public sealed class LiveNewsNode : WebApplicationFactory<Program>
{
    public const string EditorKey = "test-editor-key-0123456789";
    /// <summary>A key with the share scope only: it may not publish.</summary>
    public const string ShareOnlyKey = "test-share-only-key-0123456789";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _time;
    private readonly CapturedLogs? _logs;
    private readonly Action<IServiceCollection>? _services;

    /// <param name="services">Services the test adds to the node's own (an observer to hold a write in flight, say).</param>
    public LiveNewsNode(string storeConfiguration, string keyPrefix, Dictionary<string, string?>? settings = null, TimeProvider? time = null, int port = 0, CapturedLogs? logs = null, Action<IServiceCollection>? services = null)
    {
        _time = time;
        _logs = logs;
        _services = services;
        _settings = new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = storeConfiguration,
            ["Redis:KeyPrefix"] = keyPrefix,
            ["Store:DataPath"] = "", // an embedded store in tests lives in memory unless a test gives it a folder
            ["Auth:ApiKeys:0:Name"] = "test-editor",
            ["Auth:ApiKeys:0:Key"] = EditorKey,
            ["Auth:ApiKeys:0:Scopes:0"] = "publish",
            ["Auth:ApiKeys:0:Scopes:1"] = "share",
            ["Auth:ApiKeys:1:Name"] = "test-sharer",
            ["Auth:ApiKeys:1:Key"] = ShareOnlyKey,
            ["Auth:ApiKeys:1:Scopes:0"] = "share",
            ["Newsroom:ExpirySweepInterval"] = "00:00:00.100",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        // The address is a setting, not UseKestrel(port): the factory applies a port by changing the server's
        // addresses after the app's Main has been let go on to app.Run(), which may have started the server
        // already ("Addresses cannot be modified after the server has started", seen once in CI).
        _settings[WebHostDefaults.ServerUrlsKey] = $"http://127.0.0.1:{port}";
        UseKestrel();
        StartServer();
        BaseAddress = new Uri(Services.ListeningAddress());
    }

    public Uri BaseAddress { get; }

    public Uri HubUrl => new(BaseAddress, "/hubs/live");

    /// <summary>An HTTP client for the editor API, authenticated with the editor key.</summary>
    public HttpClient Editor(string key = EditorKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public HttpClient Anonymous() => new() { BaseAddress = BaseAddress };

    /// <summary>A raw SignalR connection, to see exactly what the hub sends.</summary>
    public async Task<HubConnection> ConnectAsync(Action<HttpConnectionOptions>? configure = null)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(HubUrl, options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                configure?.Invoke(options);
            })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    /// <summary>The LiveNews .NET client, as readers' apps use it.</summary>
    public async Task<LiveNewsClient> ClientAsync()
    {
        var client = new LiveNewsClient(HubUrl, options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
        });
        await client.StartAsync();
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(_logs is null ? LogLevel.Warning : LogLevel.Trace);
            if (_logs is not null)
            {
                logging.AddProvider(_logs);
            }
        });
        if (_time is not null)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(_time)));
        }

        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }
}

internal static class HttpExtensions
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, string? idempotencyKey = null) =>
        client.SendJsonAsync(HttpMethod.Post, path, body, idempotencyKey);

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string path, object body, string? idempotencyKey = null) =>
        client.SendJsonAsync(HttpMethod.Put, path, body, idempotencyKey);

    /// <summary>What a CMS does: retry with the same Idempotency-Key until the API accepts the request (bounded).</summary>
    public static async Task PostUntilAcceptedAsync(this HttpClient client, string path, object body, string idempotencyKey, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                var response = await client.PostJsonAsync(path, body, idempotencyKey);
                if (response.StatusCode == System.Net.HttpStatusCode.Created)
                {
                    return;
                }

                if ((int)response.StatusCode is >= 400 and < 500 and not (409 or 429))
                {
                    throw new InvalidOperationException($"{path} refused: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path} ({idempotencyKey}) was not accepted within {seconds} s.");
            }

            await Task.Delay(50);
        }
    }

    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path)
        {
            Content = body is string raw ? new StringContent(raw, new MediaTypeHeaderValue("application/json")) : JsonContent.Create(body),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return client.SendAsync(request);
    }
}
