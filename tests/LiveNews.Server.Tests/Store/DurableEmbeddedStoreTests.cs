using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Server.Tests.Store;

/// <summary>
/// The embedded store as users run it (<c>dotnet run</c>, no Redis): a real server process, killed with
/// SIGKILL and started again on the same data path, keeps every item and every topic's position.
/// </summary>
public sealed class DurableEmbeddedStoreTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("livenews-data-").FullName;
    private ServerProcess? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _server?.Dispose();
        await Task.Yield();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task EmbeddedStore_ProcessKilled_RestartsWithEveryItemPositionAndShareJob()
    {
        _server = await StartAsync(_data);
        using (var editor = _server.Editor())
        {
            (await editor.PutJsonAsync("/api/live", new { title = "Election night", streamUrl = "https://video.example/live.m3u8" })).EnsureSuccessStatusCode();
            (await editor.PostJsonAsync("/api/breaking", new { headline = "Polls close" })).EnsureSuccessStatusCode();
            (await editor.PutJsonAsync("/api/articles/results", new { headline = "Results as they come", url = "https://news.example/results" })).EnsureSuccessStatusCode();
            for (var i = 1; i <= 60; i++)
            {
                (await editor.PostJsonAsync("/api/articles/results/entries", new { text = $"Count {i}", pinned = i == 1 })).EnsureSuccessStatusCode();
            }

            (await editor.PostJsonAsync("/api/articles/results/shares", new { accounts = new[] { "mastodon-main" } })).EnsureSuccessStatusCode();
        }

        var topics = new[] { "live", "breaking", "latest", "article:results" };
        var before = new Dictionary<string, JsonElement>();
        foreach (var topic in topics)
        {
            before[topic] = await _server.Anonymous().GetFromJsonAsync<JsonElement>($"/api/topics/{topic}");
        }

        var entriesBefore = await _server.Anonymous().GetStringAsync("/api/articles/results/entries?limit=100");

        _server.Kill();
        _server.Dispose();
        _server = await StartAsync(_data);

        foreach (var topic in topics)
        {
            var after = await _server.Anonymous().GetFromJsonAsync<JsonElement>($"/api/topics/{topic}");
            Assert.Equal(before[topic].GetRawText(), after.GetRawText());
        }

        Assert.Equal(entriesBefore, await _server.Anonymous().GetStringAsync("/api/articles/results/entries?limit=100"));
        using (var editor = _server.Editor())
        {
            var jobs = await editor.GetFromJsonAsync<JsonElement>("/api/articles/results/shares");
            Assert.Equal("mastodon-main", Assert.Single(jobs.GetProperty("jobs").EnumerateArray()).GetProperty("account").GetString());
        }

        // A reader that saw up to 55 entries resumes exactly, from the history that survived the kill.
        var article = before["article:results"];
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(_server.BaseAddress, "/hubs/live"), o => { o.Transports = HttpTransportType.WebSockets; o.SkipNegotiation = true; })
            .Build();
        await connection.StartAsync();
        var seq = article.GetProperty("seq").GetInt64();
        var resumed = (await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:results", epoch = article.GetProperty("epoch").GetString(), seq = seq - 5 } }))[0];
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(
            Enumerable.Range(56, 5).Select(i => $"Count {i}"),
            resumed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("text").GetString()));
    }

    private static Task<ServerProcess> StartAsync(string dataPath) => ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["Store:DataPath"] = dataPath,
        ["Redis:Configuration"] = "",
        // A network that never answers: the share job stays queued for a later attempt.
        ["Social:Accounts:0:Name"] = "mastodon-main",
        ["Social:Accounts:0:Network"] = "mastodon",
        ["Social:Accounts:0:BaseUrl"] = "http://127.0.0.1:9",
        ["Social:Accounts:0:AccessToken"] = "test-token",
    });
}
