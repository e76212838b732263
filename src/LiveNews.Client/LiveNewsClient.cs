using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Client;

/// <summary>
/// Subscribes to LiveNews topics and delivers each topic's snapshot, then its events in seq order, each
/// exactly once. Hides reconnects: after one, it resumes every topic from its last position, and says so
/// with a fresh <see cref="TopicSnapshot"/> when the server could not replay what was missed.
/// </summary>
public sealed class LiveNewsClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionState _state = ConnectionState.Offline;

    public LiveNewsClient(Uri hubUrl, Action<HttpConnectionOptions>? configure = null)
    {
        _connection = new HubConnectionBuilder()
            .WithUrl(hubUrl, options => configure?.Invoke(options))
            .WithAutomaticReconnect(new ForeverRetryPolicy())
            .Build();
        _connection.On<JsonElement>("event", OnEventAsync);
        _connection.Reconnecting += _ =>
        {
            SetState(ConnectionState.Reconnecting);
            return Task.CompletedTask;
        };
        _connection.Reconnected += async _ =>
        {
            SetState(ConnectionState.Live);
            await ResubscribeAllAsync();
        };
        _connection.Closed += _ =>
        {
            SetState(ConnectionState.Offline);
            return Task.CompletedTask;
        };
    }

    public ConnectionState State => _state;

    public event Action<ConnectionState>? StateChanged;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        SetState(ConnectionState.Connecting);
        await _connection.StartAsync(cancellationToken);
        SetState(ConnectionState.Live);
    }

    /// <summary>
    /// Subscribes and returns the topic's updates: the snapshot first, then events. With
    /// <paramref name="resumeAfter"/> (a position saved from an earlier run), only the events after it,
    /// or a snapshot with <see cref="TopicSnapshot.StartedOver"/> when the server can no longer replay them.
    /// </summary>
    public async IAsyncEnumerable<TopicUpdate> SubscribeAsync(string topic, TopicPosition? resumeAfter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var state = await SubscribeCoreAsync(topic, resumeAfter);
        await foreach (var update in state.Updates.Reader.ReadAllAsync(cancellationToken))
        {
            yield return update;
        }
    }

    /// <summary>Subscribes; updates go to <see cref="Updates(string)"/>. Throws <see cref="HubException"/> on a refused topic.</summary>
    public async Task<ChannelReader<TopicUpdate>> SubscribeChannelAsync(string topic, TopicPosition? resumeAfter = null) =>
        (await SubscribeCoreAsync(topic, resumeAfter)).Updates.Reader;

    public async Task UnsubscribeAsync(string topic)
    {
        await _gate.WaitAsync();
        try
        {
            if (_topics.Remove(topic, out var state))
            {
                state.Updates.Writer.TryComplete();
            }
        }
        finally
        {
            _gate.Release();
        }

        await _connection.InvokeAsync("Unsubscribe", new[] { topic });
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        foreach (var state in _topics.Values)
        {
            state.Updates.Writer.TryComplete();
        }

        _gate.Dispose();
    }

    private async Task<TopicState> SubscribeCoreAsync(string topic, TopicPosition? resumeAfter)
    {
        TopicState state;
        await _gate.WaitAsync();
        try
        {
            if (!_topics.TryGetValue(topic, out state!))
            {
                state = new TopicState(topic) { Epoch = resumeAfter?.Epoch, Seq = resumeAfter?.Seq ?? 0 };
                _topics[topic] = state;
            }

            state.Subscribing++;
        }
        finally
        {
            _gate.Release();
        }

        try
        {
            var results = await _connection.InvokeAsync<SubscribeResult[]>("Subscribe", new[] { new SubscribeRequest(topic, state.Epoch, state.Epoch is null ? null : state.Seq) });
            await ApplyAsync(results[0]);
            return state;
        }
        catch
        {
            await _gate.WaitAsync();
            _topics.Remove(topic);
            _gate.Release();
            throw;
        }
    }

    private async Task ResubscribeAllAsync()
    {
        SubscribeRequest[] requests;
        await _gate.WaitAsync();
        try
        {
            foreach (var state in _topics.Values)
            {
                state.Subscribing++;
            }

            requests = [.. _topics.Values.Select(s => new SubscribeRequest(s.Topic, s.Epoch, s.Epoch is null ? null : s.Seq))];
        }
        finally
        {
            _gate.Release();
        }

        if (requests.Length == 0)
        {
            return;
        }

        try
        {
            foreach (var result in await _connection.InvokeAsync<SubscribeResult[]>("Subscribe", requests))
            {
                await ApplyAsync(result);
            }
        }
        catch (Exception) when (_connection.State != HubConnectionState.Connected)
        {
            // Dropped again mid-resubscribe: the next Reconnected resumes from the same positions.
            await ClearSubscribingAsync(requests);
        }
    }

    private async Task ClearSubscribingAsync(SubscribeRequest[] requests)
    {
        await _gate.WaitAsync();
        try
        {
            foreach (var request in requests)
            {
                if (_topics.TryGetValue(request.Topic, out var state))
                {
                    state.Subscribing = Math.Max(0, state.Subscribing - 1);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ApplyAsync(SubscribeResult result)
    {
        await _gate.WaitAsync();
        try
        {
            if (!_topics.TryGetValue(result.Topic, out var state))
            {
                return;
            }

            state.Subscribing = Math.Max(0, state.Subscribing - 1);
            if (result.Recovered && (result.Epoch == state.Epoch || IsEmptyTopic(state)))
            {
                state.Epoch = result.Epoch;
                foreach (var envelope in result.Events)
                {
                    Deliver(state, TopicEvent.Parse(envelope));
                }
            }
            else
            {
                var startedOver = state.Epoch is not null;
                state.Epoch = result.Epoch;
                state.Seq = result.Seq;
                state.Updates.Writer.TryWrite(new TopicSnapshot(result.Topic, result.Epoch, result.Seq, result.Snapshot ?? default, startedOver));
            }

            // Events that arrived while the subscription was in flight, now in order after the answer.
            var buffered = state.Buffered.OrderBy(e => e.Seq).ToArray();
            state.Buffered.Clear();
            foreach (var e in buffered)
            {
                Handle(state, e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task OnEventAsync(JsonElement envelope)
    {
        var e = TopicEvent.Parse(envelope);
        await _gate.WaitAsync();
        try
        {
            if (_topics.TryGetValue(e.Topic, out var state))
            {
                if (state.Subscribing > 0)
                {
                    state.Buffered.Add(e);
                }
                else
                {
                    Handle(state, e);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Handle(TopicState state, TopicEvent e)
    {
        if (IsEmptyTopic(state) && e.Seq == 1)
        {
            state.Epoch = e.Epoch; // The topic's first event brings the epoch its history starts with.
        }

        if (e.Epoch == state.Epoch && e.Seq <= state.Seq)
        {
            return; // Seen already (part of the snapshot or of a replay).
        }

        if (e.Epoch == state.Epoch && e.Seq == state.Seq + 1)
        {
            Deliver(state, e);
            return;
        }

        // A gap, or a new epoch: ask the server for what is missing (or a fresh snapshot), keep this one.
        state.Buffered.Add(e);
        if (state.Subscribing == 0)
        {
            state.Subscribing++;
            _ = ResyncAsync(state);
        }
    }

    private async Task ResyncAsync(TopicState state)
    {
        try
        {
            var results = await _connection.InvokeAsync<SubscribeResult[]>("Subscribe", new[] { new SubscribeRequest(state.Topic, state.Epoch, state.Seq) });
            await ApplyAsync(results[0]);
        }
        catch (Exception)
        {
            await ClearSubscribingAsync([new SubscribeRequest(state.Topic)]);
        }
    }

    // Nothing was ever published on the topic when it was read: the server had no epoch to give ("").
    private static bool IsEmptyTopic(TopicState state) => state.Epoch == "" && state.Seq == 0;

    private static void Deliver(TopicState state, TopicEvent e)
    {
        if (e.Epoch != state.Epoch || e.Seq != state.Seq + 1)
        {
            return;
        }

        state.Seq = e.Seq;
        state.Updates.Writer.TryWrite(e);
    }

    private void SetState(ConnectionState state)
    {
        _state = state;
        StateChanged?.Invoke(state);
    }

    private sealed class TopicState(string topic)
    {
        public string Topic { get; } = topic;

        public string? Epoch { get; set; }

        public long Seq { get; set; }

        public int Subscribing { get; set; }

        public List<TopicEvent> Buffered { get; } = [];

        public Channel<TopicUpdate> Updates { get; } = Channel.CreateUnbounded<TopicUpdate>(new UnboundedChannelOptions { SingleWriter = true });
    }

    private sealed record SubscribeRequest(string Topic, string? Epoch = null, long? Seq = null);

    private sealed record SubscribeResult(string Topic, string Epoch, long Seq, bool Recovered, JsonElement? Snapshot, JsonElement[] Events);

    /// <summary>Reconnects until disposed: 0, 1, 2, then every 5 seconds.</summary>
    private sealed class ForeverRetryPolicy : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) => retryContext.PreviousRetryCount switch
        {
            0 => TimeSpan.Zero,
            1 => TimeSpan.FromSeconds(1),
            2 => TimeSpan.FromSeconds(2),
            _ => TimeSpan.FromSeconds(5),
        };
    }
}
