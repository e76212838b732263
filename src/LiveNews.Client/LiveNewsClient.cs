using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace LiveNews.Client;

/// <summary>
/// Subscribes to LiveNews topics and delivers each topic's snapshot, then its events in seq order, each
/// exactly once. Hides reconnects: after one, it resumes every topic from its last position, and says so
/// with a fresh <see cref="TopicSnapshot"/> when the server could not replay what was missed. A topic the
/// server refuses, or cannot serve now, is reported through <see cref="TopicFailed"/> without holding up
/// the other topics; one it cannot serve now is retried with exponential backoff until it succeeds.
/// </summary>
public sealed class LiveNewsClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly TopicSubscriptions _topics;
    private ConnectionState _state = ConnectionState.Offline;

    public LiveNewsClient(Uri hubUrl, Action<HttpConnectionOptions>? configure = null)
    {
        _connection = new HubConnectionBuilder()
            .WithUrl(hubUrl, options => configure?.Invoke(options))
            .WithAutomaticReconnect(new ForeverRetryPolicy())
            .Build();
        _topics = new TopicSubscriptions(new HubTopicServer(_connection), TimeProvider.System, Backoff);
        _topics.Failed += error => TopicFailed?.Invoke(error);
        _connection.On<JsonElement>("event", envelope => _topics.OnEvent(TopicEvent.Parse(envelope)));
        _connection.On<ViewerCount>("viewers", count =>
        {
            if (_topics.Follows(count.Topic))
            {
                ViewersChanged?.Invoke(count);
            }
        });
        _connection.Reconnecting += _ =>
        {
            SetState(ConnectionState.Reconnecting);
            return Task.CompletedTask;
        };
        _connection.Reconnected += _ =>
        {
            SetState(ConnectionState.Live);
            return _topics.ResubscribeAllAsync();
        };
        _connection.Closed += _ =>
        {
            SetState(ConnectionState.Offline);
            return Task.CompletedTask;
        };
    }

    public ConnectionState State => _state;

    public event Action<ConnectionState>? StateChanged;

    /// <summary>
    /// One topic was refused (its updates then end with the <see cref="HubException"/>), or could not be
    /// served now and will be retried (<see cref="TopicError.RetryIn"/>). Raised on a thread-pool thread.
    /// </summary>
    public event Action<TopicError>? TopicFailed;

    /// <summary>
    /// The number of readers of a subscribed <c>live</c> or <c>article:{id}</c> topic: soon after subscribing, then
    /// whenever it changes. Raised on a thread-pool thread, and only while the topic is subscribed: a count that was
    /// on its way when the topic was unsubscribed is dropped.
    /// </summary>
    public event Action<ViewerCount>? ViewersChanged;

    /// <summary>Connects, then subscribes the topics added before. Does nothing unless disconnected.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_connection.State != HubConnectionState.Disconnected)
        {
            return;
        }

        SetState(ConnectionState.Connecting);
        await _connection.StartAsync(cancellationToken).ConfigureAwait(false);
        SetState(ConnectionState.Live);
        await _topics.ResubscribeAllAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Subscribes and returns the topic's updates: the snapshot first, then events. With
    /// <paramref name="resumeAfter"/> (a position saved from an earlier run), only the events after it,
    /// or a snapshot with <see cref="TopicSnapshot.StartedOver"/> when the server can no longer replay them.
    /// </summary>
    /// <exception cref="HubException">The server refused the topic.</exception>
    /// <exception cref="InvalidOperationException">The topic is subscribed already: a topic has one reader.</exception>
    public async IAsyncEnumerable<TopicUpdate> SubscribeAsync(string topic, TopicPosition? resumeAfter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var updates = await _topics.AddAsync(topic, resumeAfter).ConfigureAwait(false);
        await foreach (var update in updates.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    /// <summary>
    /// Subscribes; returns once the server answered, or, when the store cannot serve the topic now, once a
    /// retry is planned (<see cref="TopicFailed"/> says so). Before <see cref="StartAsync"/>, returns at once
    /// and subscribes on start.
    /// </summary>
    /// <exception cref="HubException">The server refused the topic.</exception>
    /// <exception cref="InvalidOperationException">The topic is subscribed already: a topic has one reader.</exception>
    public Task<ChannelReader<TopicUpdate>> SubscribeChannelAsync(string topic, TopicPosition? resumeAfter = null) =>
        _topics.AddAsync(topic, resumeAfter);

    public Task UnsubscribeAsync(string topic) => _topics.RemoveAsync(topic);

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        _topics.Close();
    }

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Jitter spreads retries; it guards no secret.")]
    private static TimeSpan Backoff(int attempt) => SubscribeFailure.Backoff(attempt, Random.Shared.NextDouble());

    private void SetState(ConnectionState state)
    {
        _state = state;
        StateChanged?.Invoke(state);
    }

    private sealed class HubTopicServer(HubConnection connection) : ITopicServer
    {
        public bool IsConnected => connection.State == HubConnectionState.Connected;

        public Task<SubscribeResult[]> SubscribeAsync(SubscribeRequest[] requests) =>
            connection.InvokeAsync<SubscribeResult[]>("Subscribe", requests);

        public Task UnsubscribeAsync(string[] topics) => connection.InvokeAsync("Unsubscribe", topics);
    }

    /// <summary>Reconnects until disposed, spread by jitter (<see cref="SubscribeFailure.ReconnectDelay"/>).</summary>
    private sealed class ForeverRetryPolicy : IRetryPolicy
    {
        [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Jitter spreads reconnects; it guards no secret.")]
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            SubscribeFailure.ReconnectDelay((int)Math.Min(retryContext.PreviousRetryCount, int.MaxValue), Random.Shared.NextDouble());
    }
}
