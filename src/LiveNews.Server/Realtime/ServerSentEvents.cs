using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

/// <summary>
/// <c>GET /sse?topic=…</c>: the hub's topics as Server-Sent Events, for pages that cannot or will not run
/// the SignalR client (a plain <c>EventSource</c>, WebSockets blocked). Per topic a <c>snapshot</c> event,
/// then an <c>event</c> per envelope, from the same fan-out and the same reads as the hub (join, then
/// read). Every event's <c>id:</c> names the position of every topic (<see cref="StreamPositions"/>), so the
/// browser's reconnect with <c>Last-Event-ID</c> gets exactly what each topic missed, on any node.
/// </summary>
/// <remarks>
/// A writer loop of its own rather than <c>TypedResults.ServerSentEvents</c>: the typed result writes
/// <c>SseItem</c>s only, and the stream also needs comment lines (heartbeats that keep proxies from
/// closing an idle stream), positions that depend on what was sent before (the dedupe of events the
/// opening read already held), and a flush per batch of queued pushes rather than per item.
/// </remarks>
internal sealed class ServerSentEvents(
    SharedReads reads,
    EventRelay relay,
    Subscribers subscribers,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    LiveNewsMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<ServerSentEvents> logger)
{
    public const string Path = RateLimiting.EventStreamPath;

    private const string SnapshotName = "snapshot";
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public async Task<Results<EmptyHttpResult, ProblemHttpResult>> StreamAsync(HttpContext http)
    {
        var realtime = options.Value;
        if (!TryParseTopics(http, realtime.MaxTopicsPerConnection, out var topics, out var refusal))
        {
            RealtimeLog.Refused(logger, http.TraceIdentifier, refusal);
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad topics", detail: refusal);
        }

        // EventSource sends the header on reconnects; the query parameter serves a first connection that resumes.
        var positions = new StreamPositions(topics);
        var lastEventId = http.Request.Headers["Last-Event-ID"].ToString();
        positions.TryResume(lastEventId.Length > 0 ? lastEventId : http.Request.Query["lastEventId"].ToString());

        var outbox = new SseOutbox("sse:" + http.TraceIdentifier + ":" + Guid.NewGuid().ToString("N"), realtime.MaxBufferedBytesPerConnection, subscribers.Overflowed, http.Abort);
        subscribers.Register(outbox);
        metrics.ConnectionOpened();
        var served = new List<Topic>();
        try
        {
            var opening = new (TopicRead Read, bool Recovered)[topics.Length];
            try
            {
                for (var i = 0; i < topics.Length; i++)
                {
                    // Join first, then read, as the hub does: what the read misses reaches the outbox.
                    subscribers.Join(outbox.Id, topics[i]);
                    await relay.ServeAsync(topics[i]);
                    var joinedAt = reads.Now();
                    served.Add(topics[i]);
                    metrics.Subscribed(topics[i].Kind.ToString(), 1);
                    opening[i] = await ReadAsync(topics[i], positions.Of(i), joinedAt);
                }
            }
            catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested)
            {
                RealtimeLog.SubscribeFailed(logger, outbox.Id, ex);
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable",
                    detail: $"Reading the topics failed: the store is {LiveHub.Unavailable}. Try again.");
            }

            await WriteStreamAsync(http, topics, positions, opening, outbox, realtime.SseHeartbeatInterval);
            return TypedResults.Empty;
        }
        finally
        {
            subscribers.Disconnected(outbox.Id);
            foreach (var topic in served)
            {
                relay.Release(topic);
                metrics.Subscribed(topic.Kind.ToString(), -1);
            }

            metrics.ConnectionClosed();
        }
    }

    private async Task WriteStreamAsync(HttpContext http, Topic[] topics, StreamPositions positions, (TopicRead Read, bool Recovered)[] opening, SseOutbox outbox, TimeSpan heartbeat)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = response.BodyWriter;

        for (var i = 0; i < topics.Length; i++)
        {
            var (read, recovered) = opening[i];
            if (!recovered)
            {
                positions.Set(i, read.Epoch, read.Seq);
                WriteMessage(writer, positions.Id(), SnapshotName, SnapshotData(topics[i], read, time.GetUtcNow()));
                continue;
            }

            foreach (var envelope in read.Events)
            {
                if (Accept(positions, envelope) != Verdict.Send)
                {
                    continue;
                }

                WriteMessage(writer, positions.Id(), TopicPush.EventMethod, envelope.Utf8);
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            await writer.FlushAsync(stop.Token);
            Task<bool>? waiting = null;
            Task? beat = null;
            while (true)
            {
                waiting ??= outbox.Reader.WaitToReadAsync(stop.Token).AsTask();
                beat ??= Task.Delay(heartbeat, time, stop.Token);
                if (await Task.WhenAny(waiting, beat) == beat)
                {
                    await beat;
                    beat = null;
                    writer.Write(KeepAlive);
                    await writer.FlushAsync(stop.Token);
                    continue;
                }

                if (!await waiting)
                {
                    return; // Cut off for not reading (or closed): the browser reconnects and resumes.
                }

                waiting = null;
                while (outbox.Reader.TryRead(out var push))
                {
                    outbox.Sent(push);
                    if (!push.IsEvent)
                    {
                        WriteMessage(writer, id: null, push.Method, push.Envelope.Utf8);
                        continue;
                    }

                    var verdict = Accept(positions, push.Envelope);
                    if (verdict == Verdict.Restart)
                    {
                        // A new epoch or a gap: end the stream; the reconnect's Last-Event-ID gets history or a fresh snapshot.
                        await writer.FlushAsync(stop.Token);
                        return;
                    }

                    if (verdict == Verdict.Send)
                    {
                        WriteMessage(writer, positions.Id(), TopicPush.EventMethod, push.Envelope.Utf8);
                    }
                }

                await writer.FlushAsync(stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The reader left, or this node is stopping: ending the response lets the browser reconnect elsewhere.
        }
    }

    private enum Verdict
    {
        Send,
        Skip,
        Restart,
    }

    /// <summary>Moves the topic's position to the envelope when it is the next event; skips what was sent already.</summary>
    private static Verdict Accept(StreamPositions positions, RawJson envelope)
    {
        if (!EnvelopeHeader.TryRead(envelope.Utf8, out var header))
        {
            return Verdict.Skip;
        }

        var index = positions.IndexOf(header.Topic);
        if (index < 0 || positions.Of(index) is not { } position)
        {
            return Verdict.Skip;
        }

        var fresh = position.Epoch.Length == 0 && position.Seq == 0;
        if (!fresh && header.Epoch != position.Epoch)
        {
            return Verdict.Restart;
        }

        if (!fresh && header.Seq <= position.Seq)
        {
            return Verdict.Skip;
        }

        if (header.Seq != (fresh ? 1 : position.Seq + 1))
        {
            return Verdict.Restart;
        }

        positions.Set(index, header.Epoch, header.Seq);
        return Verdict.Send;
    }

    private async Task<(TopicRead Read, bool Recovered)> ReadAsync(Topic topic, (string Epoch, long Seq)? position, long joinedAt)
    {
        if (position is { } p)
        {
            var resumed = await reads.ReadAsync(topic, p.Seq, joinedAt);

            // As the hub: a position in a topic nothing was published on resumes into whatever began since.
            var recovered = resumed.HistoryFound && (resumed.Epoch == p.Epoch || (p.Epoch.Length == 0 && p.Seq == 0));
            metrics.Resumed(recovered);
            if (recovered)
            {
                return (resumed, true);
            }
        }

        return (await reads.ReadAsync(topic, afterSeq: null, joinedAt), false);
    }

    /// <summary><c>{ topic, epoch, seq, recovered: false, snapshot }</c>.</summary>
    private static byte[] SnapshotData(Topic topic, TopicRead read, DateTimeOffset now)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("topic", topic.Name);
            json.WriteString("epoch", read.Epoch);
            json.WriteNumber("seq", read.Seq);
            json.WriteBoolean("recovered", false);
            json.WritePropertyName("snapshot");
            json.WriteRawValue(Snapshot.Write(topic, read, now).Utf8, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One SSE message; compact JSON has no line break, but one would start another <c>data:</c> line.</summary>
    private static void WriteMessage(PipeWriter writer, string? id, string name, ReadOnlySpan<byte> data)
    {
        if (id is not null)
        {
            writer.Write("id: "u8);
            Encoding.UTF8.GetBytes(id, writer);
            writer.Write("\n"u8);
        }

        writer.Write("event: "u8);
        Encoding.UTF8.GetBytes(name, writer);
        writer.Write("\n"u8);
        while (true)
        {
            var line = data.IndexOf((byte)'\n');
            writer.Write("data: "u8);
            writer.Write(line < 0 ? data : data[..line]);
            writer.Write("\n"u8);
            if (line < 0)
            {
                break;
            }

            data = data[(line + 1)..];
        }

        writer.Write("\n"u8);
    }

    private static bool TryParseTopics(HttpContext http, int max, out Topic[] topics, out string refusal)
    {
        topics = [];
        var names = http.Request.Query["topic"];
        if (names.Count == 0)
        {
            refusal = "Ask at least one topic: /sse?topic=breaking&topic=live.";
            return false;
        }

        if (names.Count > max)
        {
            refusal = $"At most {max} topics per stream: {names.Count} asked.";
            return false;
        }

        var parsed = new Topic[names.Count];
        var asked = new HashSet<Topic>();
        for (var i = 0; i < names.Count; i++)
        {
            if (!Topic.TryParse(names[i], out var topic, out var error))
            {
                refusal = error;
                return false;
            }

            if (!TopicAccess.CanRead(http.User, topic.Value))
            {
                refusal = TopicAccess.Refusal(topic.Value);
                return false;
            }

            if (!asked.Add(topic.Value))
            {
                refusal = $"Topic '{topic.Value.Name}' is asked twice: ask each topic once.";
                return false;
            }

            parsed[i] = topic.Value;
        }

        topics = parsed;
        refusal = "";
        return true;
    }
}
