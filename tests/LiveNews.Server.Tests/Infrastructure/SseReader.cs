using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>One message of an event stream as a browser parses it (comments kept, for heartbeat tests).</summary>
public sealed record SseMessage(string? Id, string Event, string Data, string? Comment = null)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

/// <summary>
/// Reads <c>GET /sse</c> with a real <see cref="HttpClient"/> and parses the stream line by line, as the
/// HTML standard's EventSource does (<c>id</c>, <c>event</c>, <c>data</c>, comments).
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    private SseReader(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        Response = response;
        _reading = Task.Run(() => ReadAsync(response));
    }

    public HttpResponseMessage Response { get; }

    public ConcurrentQueue<SseMessage> Messages { get; } = new();

    /// <summary>True once the server ended the stream (or it broke).</summary>
    public bool Ended => _reading.IsCompleted;

    /// <summary>The id of the last message that had one: what a browser sends as <c>Last-Event-ID</c>.</summary>
    public string? LastEventId { get; private set; }

    public static async Task<SseReader> OpenAsync(Uri baseAddress, string query, string? lastEventId = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, "/sse?" + query);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseReader(http, response);
    }

    /// <summary>The <c>event</c> messages' envelopes of one topic, in arrival order.</summary>
    public List<JsonElement> EventsOf(string topic) =>
        [.. Messages.Where(m => m.Event == "event").Select(m => m.Json).Where(e => e.GetProperty("topic").GetString() == topic)];

    public List<JsonElement> SnapshotsOf(string topic) =>
        [.. Messages.Where(m => m.Event == "snapshot").Select(m => m.Json).Where(e => e.GetProperty("topic").GetString() == topic)];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Response.Dispose();
        _http.Dispose();
        try
        {
            await _reading;
        }
        catch
        {
        }
    }

    private async Task ReadAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            return;
        }

        try
        {
            using var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
            using var lines = new StreamReader(stream, Encoding.UTF8);
            string? id = null, name = null, comment = null;
            var data = new StringBuilder();
            while (await lines.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (comment is not null || data.Length > 0)
                    {
                        if (id is not null)
                        {
                            LastEventId = id;
                        }

                        Messages.Enqueue(new SseMessage(id, name ?? "message", data.ToString(), comment));
                    }

                    (id, name, comment) = (null, null, null);
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    comment = line[1..].TrimStart();
                }
                else
                {
                    var colon = line.IndexOf(':');
                    var field = colon < 0 ? line : line[..colon];
                    var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
                    switch (field)
                    {
                        case "id":
                            id = value;
                            break;
                        case "event":
                            name = value;
                            break;
                        case "data":
                            data.Append(data.Length > 0 ? "\n" : "").Append(value);
                            break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or HttpRequestException or ObjectDisposedException)
        {
        }
    }
}
