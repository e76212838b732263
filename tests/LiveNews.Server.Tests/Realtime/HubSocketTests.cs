using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>
/// Pushes to a hub WebSocket go straight to its socket (<see cref="HubSocket"/>), beside the messages SignalR
/// sends itself; other transports keep SignalR's path. Either way a reader gets every event once, in order.
/// </summary>
[Collection("redis")]
public sealed class HubSocketTests : OwnRedisTest
{
    [Theory]
    [InlineData(HttpTransportType.WebSockets, true)]
    [InlineData(HttpTransportType.ServerSentEvents, false)]
    [InlineData(HttpTransportType.LongPolling, false)]
    public async Task Events_ReachEveryTransport_WebSocketsStraightThroughTheirSocket(HttpTransportType transport, bool straight)
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix));
        var connection = Track(await node.ConnectAsync(options =>
        {
            options.Transports = transport;
            options.SkipNegotiation = false;
        }));
        var seqs = SeqsOf(connection, "breaking");
        await connection.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });

        using var editor = node.Editor();
        for (var i = 1; i <= 5; i++)
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" })).EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(() => seqs.Count == 5, "five events");
        Assert.Equal([1L, 2, 3, 4, 5], seqs);

        var reader = Assert.IsType<ConnectionOutbox>(node.Services.GetRequiredService<Subscribers>().Reader(connection.ConnectionId!));
        Assert.Equal(straight, reader.SendsToSocket);
    }

    [Fact]
    public async Task EventsRelayedTogether_ReachAWebSocketAsOneMessage_AndEveryReaderInOrder()
    {
        var held = new HeldSink();
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, services: services =>
            services.AddSingleton<IEventSink>(sp => held.Around(sp.GetRequiredService<Subscribers>()))));
        var webSocket = Track(await node.ConnectAsync(options => options.SkipNegotiation = false));
        var longPolling = Track(await node.ConnectAsync(options =>
        {
            options.Transports = HttpTransportType.LongPolling;
            options.SkipNegotiation = false;
        }));
        var seqs = (WebSockets: SeqsOf(webSocket, "breaking"), LongPolling: SeqsOf(longPolling, "breaking"));
        await webSocket.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });
        await longPolling.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "breaking" } });
        using var raw = await RawReader.SubscribeAsync(node, "breaking");
        using var editor = node.Editor();

        // The relay hands the first event over and is held there while five more reach the node.
        (await editor.PostJsonAsync("/api/breaking", new { headline = "Alert 1" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => held.HandOvers.Count == 1, "the first event handed over");
        for (var i = 2; i <= 6; i++)
        {
            (await editor.PostJsonAsync("/api/breaking", new { headline = $"Alert {i}" })).EnsureSuccessStatusCode();
        }

        var relay = node.Services.GetRequiredService<EventRelay>();
        await Eventually.TrueAsync(() => relay.Waiting("breaking") == 5, "five events waiting for the relay");
        held.Let();

        var messages = await raw.ReadEventsAsync(6);
        await Eventually.TrueAsync(() => seqs.WebSockets.Count == 6 && seqs.LongPolling.Count == 6, "six events for each hub client");
        Assert.Equal([1, 5], held.HandOvers);
        Assert.Equal([true, false], held.EventsWaiting);
        var outbox = Assert.IsType<ConnectionOutbox>(node.Services.GetRequiredService<Subscribers>().Reader(webSocket.ConnectionId!));
        Assert.True(outbox.SendsToSocket, "WebSocket readers get pushes straight from the outbox, not through SignalR's pipe");
        Assert.Equal([[1L], [2L, 3, 4, 5, 6]], messages);
        Assert.Equal([1L, 2, 3, 4, 5, 6], seqs.WebSockets);
        Assert.Equal([1L, 2, 3, 4, 5, 6], seqs.LongPolling);
    }

    // A reader subscribing while this node's relay is behind (here: held) is answered from Redis, where an entry
    // deleted since is a tombstone; the relay's backlog must not then push it the entry's text.
    [Fact]
    public async Task ReaderJoiningWhileTheRelayIsBehind_IsNotPushedTheTextOfAnEntryDeletedBeforeItSubscribed()
    {
        var held = new HeldSink(holding: false);
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, services: services =>
            services.AddSingleton<IEventSink>(sp => held.Around(sp.GetRequiredService<Subscribers>()))));
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/blog", new { headline = "Blog", url = "https://news.example/blog" })).EnsureSuccessStatusCode();
        using var first = await RawReader.SubscribeAsync(node, "article:blog");

        held.Hold();
        var posted = await editor.PostJsonAsync("/api/articles/blog/entries", new { text = "LIBEL-TEXT about a person" });
        var entry = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await Eventually.TrueAsync(() => held.HandOvers.Count == 1, "the entry handed over, and held there");
        (await editor.DeleteAsync($"/api/articles/blog/entries/{entry}")).EnsureSuccessStatusCode();
        var relay = node.Services.GetRequiredService<EventRelay>();
        await Eventually.TrueAsync(() => relay.Waiting("article:blog") == 1, "the deletion waiting for the relay");

        using var late = await RawReader.SubscribeAsync(node, "article:blog");
        held.Let();
        var next = await editor.PostJsonAsync("/api/articles/blog/entries", new { text = "Next entry" });
        var nextSeq = (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events")[0].GetProperty("seq").GetInt64();

        var pushed = await late.ReadEventTextsUntilAsync(nextSeq);
        Assert.DoesNotContain(pushed, text => text.Contains("LIBEL-TEXT", StringComparison.Ordinal));
        Assert.Contains(pushed, text => text.Contains("Next entry", StringComparison.Ordinal));
        // The reader there before gets everything, as it happened.
        Assert.Contains(await first.ReadEventTextsUntilAsync(nextSeq), text => text.Contains("LIBEL-TEXT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReaderThatKeepsUp_IsNotCut_ByAHandOverLargerThanItsBound()
    {
        var held = new HeldSink(holding: false);
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new()
        {
            ["Realtime:MaxBufferedBytesPerConnection"] = "16384",
        }, services: services => services.AddSingleton<IEventSink>(sp => held.Around(sp.GetRequiredService<Subscribers>()))));
        using var editor = node.Editor();
        (await editor.PutJsonAsync("/api/articles/big", new { headline = "Big entries", url = "https://news.example/big" })).EnsureSuccessStatusCode();
        var reader = Track(await node.ConnectAsync());
        var seqs = SeqsOf(reader, "article:big");
        await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:big" } });

        // Eight entries of 3 KB wait for the relay together: 24 KB, more than the reader's 16 KB bound.
        held.Hold();
        (await editor.PostJsonAsync("/api/articles/big/entries", new { text = new string('a', 3_000) })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => held.HandOvers.Count == 1, "the first entry handed over");
        for (var i = 2; i <= 9; i++)
        {
            (await editor.PostJsonAsync("/api/articles/big/entries", new { text = new string((char)('a' + i), 3_000) })).EnsureSuccessStatusCode();
        }

        await Eventually.TrueAsync(() => node.Services.GetRequiredService<EventRelay>().Waiting("article:big") == 8, "eight entries waiting for the relay");
        held.Let();

        await Eventually.TrueAsync(() => seqs.Count == 9, "nine entries");
        Assert.Equal([1, 8], held.HandOvers);
        Assert.Equal(Enumerable.Range(2, 9).Select(i => (long)i), seqs);
        Assert.Equal(HubConnectionState.Connected, reader.State);
    }

    [Fact]
    public async Task LargeAnswers_SentInFragments_AreNeverCutByAPush()
    {
        var node = Track(new LiveNewsNode(Redis.Configuration, Prefix, new()
        {
            ["RateLimits:EditorRequestsPerMinute"] = "100000",
            ["RateLimits:HubInvocationsPerMinute"] = "100000",
        }));
        using var editor = node.Editor();

        // An article whose snapshot is about 45 KB: SignalR sends its subscribe answer as several
        // WebSocket frames of one message, read from its pipe's 4 KB blocks.
        (await editor.PutJsonAsync("/api/articles/long-read", new { headline = "Long read", url = "https://news.example/long" })).EnsureSuccessStatusCode();
        for (var i = 1; i <= 5; i++)
        {
            (await editor.PostJsonAsync("/api/articles/long-read/entries", new { text = $"{i} {new string('x', 9_000)}" })).EnsureSuccessStatusCode();
        }

        (await editor.PutJsonAsync("/api/articles/flood", new { headline = "Flood", url = "https://news.example/flood" })).EnsureSuccessStatusCode();
        var reader = Track(await node.ConnectAsync());
        var seqs = SeqsOf(reader, "article:flood");
        await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:flood" } });

        // Pushes of the flood topic, from four editors at once, while the big answer is asked for again and again.
        using var stop = new CancellationTokenSource();
        var posted = 0;
        var flood = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var poster = node.Editor();
            while (!stop.IsCancellationRequested)
            {
                (await poster.PostJsonAsync("/api/articles/flood/entries", new { text = "tick" })).EnsureSuccessStatusCode();
                Interlocked.Increment(ref posted);
            }
        })).ToArray();

        for (var i = 0; i < 200; i++)
        {
            var answer = await reader.InvokeAsync<JsonElement[]>("Subscribe", new[] { new { topic = "article:long-read" } });
            Assert.Equal(5, answer[0].GetProperty("snapshot").GetProperty("entries").GetArrayLength());
            await reader.InvokeAsync("Unsubscribe", new[] { "article:long-read" });
        }

        await stop.CancelAsync();
        await Task.WhenAll(flood);
        await Eventually.TrueAsync(() => seqs.Count == posted, $"all {posted} flood events");
        Assert.Equal(Enumerable.Range(2, posted).Select(i => (long)i), seqs);

        Assert.Equal(HubConnectionState.Connected, reader.State);
    }

    [Fact]
    public async Task Push_WhileSignalRIsBetweenTheFragmentsOfAMessage_WaitsForItsLastFragment()
    {
        var inner = new RecordingSocket();
        var socket = new HubSocket(inner, new DefaultHttpContext());

        await socket.SendAsync(Bytes("answer-1"), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        var push = socket.SendMessageAsync(Bytes("push"), WebSocketMessageType.Text).AsTask();
        Assert.False(push.IsCompleted);
        Assert.Equal(["answer-1"], inner.Sent);

        await socket.SendAsync(Bytes("answer-2"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        await push;
        Assert.Equal(["answer-1", "answer-2", "push"], inner.Sent);
    }

    [Fact]
    public async Task Push_AfterSignalRsSendFailedMidMessage_IsSent()
    {
        var inner = new RecordingSocket();
        var socket = new HubSocket(inner, new DefaultHttpContext());
        await socket.SendAsync(Bytes("answer-1"), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);

        inner.FailNext = true;
        await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.SendAsync(Bytes("answer-2"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).AsTask());
        await socket.SendMessageAsync(Bytes("push"), WebSocketMessageType.Text).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["answer-1", "push"], inner.Sent);
    }

    /// <summary>The seqs of the events of <paramref name="topic"/> the connection receives, in the order received.</summary>
    private static ConcurrentQueue<long> SeqsOf(HubConnection connection, string topic)
    {
        var seqs = new ConcurrentQueue<long>();
        connection.On<JsonElement>("event", e =>
        {
            if (e.GetProperty("topic").GetString() == topic)
            {
                seqs.Enqueue(e.GetProperty("seq").GetInt64());
            }
        });
        return seqs;
    }

    /// <summary>The node's event sink, holding the relay in its first hand-over until let go.</summary>
    private sealed class HeldSink
    {
        // Open when completed; Hold puts a new, pending one in its place.
        private volatile TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <param name="holding">False to let hand-overs through until <see cref="Hold"/>.</param>
        public HeldSink(bool holding = true)
        {
            if (!holding)
            {
                Let();
            }
        }

        public ConcurrentQueue<int> HandOvers { get; } = new();

        /// <summary>Per hand-over, whether the relay said more events waited once the hand-over was let go on.</summary>
        public ConcurrentQueue<bool> EventsWaiting { get; } = new();

        /// <summary>Holds the next hand-over (and the relay with it) until <see cref="Let"/>.</summary>
        public void Hold() => _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Let() => _gate.TrySetResult();

        public IEventSink Around(IEventSink sink) => new Sink(this, sink);

        private sealed class Sink(HeldSink held, IEventSink inner) : IEventSink
        {
            public async ValueTask DeliverAsync(string topic, IReadOnlyList<RawJson> envelopes, TopicPosition through, Func<bool> eventsWaiting)
            {
                held.HandOvers.Enqueue(envelopes.Count);
                try
                {
                    await held._gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException ex)
                {
                    throw new TimeoutException("The test never let the relay go on.", ex);
                }

                held.EventsWaiting.Enqueue(eventsWaiting());
                await inner.DeliverAsync(topic, envelopes, through, eventsWaiting);
            }
        }
    }

    /// <summary>A reader speaking SignalR's JSON protocol on a raw WebSocket: it sees how records are put into messages.</summary>
    private sealed class RawReader(ClientWebSocket socket) : IDisposable
    {
        public static async Task<RawReader> SubscribeAsync(LiveNewsNode node, string topic)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new UriBuilder(node.HubUrl) { Scheme = "ws" }.Uri, CancellationToken.None);
            var reader = new RawReader(socket);
            await reader.SendAsync("""{"protocol":"json","version":1}""");
            await reader.SendAsync($$"""{"type":1,"invocationId":"1","target":"Subscribe","arguments":[[{"topic":"{{topic}}"}]]}""");
            while (!(await reader.ReceiveAsync()).Any(r => TypeOf(r) == 3))
            {
            }

            return reader;
        }

        /// <summary>The seqs of the events received, grouped by the WebSocket message that carried them.</summary>
        public async Task<List<long[]>> ReadEventsAsync(int count)
        {
            var messages = new List<long[]>();
            while (messages.Sum(m => m.Length) < count)
            {
                var events = (await ReceiveAsync())
                    .Where(r => TypeOf(r) == 1 && r.GetProperty("target").GetString() == "event")
                    .Select(r => r.GetProperty("arguments")[0].GetProperty("seq").GetInt64())
                    .ToArray();
                if (events.Length > 0)
                {
                    messages.Add(events);
                }
            }

            return messages;
        }

        /// <summary>The event records received, as sent, up to the one with <paramref name="seq"/>.</summary>
        public async Task<List<string>> ReadEventTextsUntilAsync(long seq)
        {
            var texts = new List<string>();
            while (true)
            {
                foreach (var record in await ReceiveAsync())
                {
                    if (TypeOf(record) == 1 && record.GetProperty("target").GetString() == "event")
                    {
                        texts.Add(record.GetRawText());
                        if (record.GetProperty("arguments")[0].GetProperty("seq").GetInt64() == seq)
                        {
                            return texts;
                        }
                    }
                }
            }
        }

        public void Dispose() => socket.Dispose();

        // The handshake's answer is the one record without a type.
        private static int TypeOf(JsonElement record) => record.TryGetProperty("type", out var type) ? type.GetInt32() : 0;

        private Task SendAsync(string record) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(record + "\u001e"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        // One WebSocket message, split into its records.
        private async Task<JsonElement[]> ReceiveAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var message = new MemoryStream();
            var buffer = new byte[8192];
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            return Encoding.UTF8.GetString(message.ToArray())
                .Split('\u001e', StringSplitOptions.RemoveEmptyEntries)
                .Select(record => JsonDocument.Parse(record).RootElement)
                .ToArray();
        }
    }

    // What SignalR's send loop passes: memory, so the ValueTask overload it calls is the one tested.
    private static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A WebSocket that records the messages sent on it, and fails a send when told to.</summary>
    private sealed class RecordingSocket : WebSocket
    {
        public List<string> Sent { get; } = [];

        public bool FailNext { get; set; }

        public override WebSocketCloseStatus? CloseStatus => null;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => WebSocketState.Open;

        public override string? SubProtocol => null;

        public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            if (FailNext)
            {
                FailNext = false;
                return ValueTask.FromException(new WebSocketException("The peer went away."));
            }

            Sent.Add(Encoding.UTF8.GetString(buffer.Span));
            return ValueTask.CompletedTask;
        }

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
            SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Abort()
        {
        }

        public override void Dispose()
        {
        }
    }
}
