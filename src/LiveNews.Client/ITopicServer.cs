using System.Text.Json;

namespace LiveNews.Client;

/// <summary>The hub's side of a subscription, as <see cref="TopicSubscriptions"/> sees it (a fake in tests).</summary>
internal interface ITopicServer
{
    bool IsConnected { get; }

    /// <summary>All or nothing: when one topic fails, the call throws and no topic was subscribed.</summary>
    Task<SubscribeResult[]> SubscribeAsync(SubscribeRequest[] requests);

    Task UnsubscribeAsync(string[] topics);
}

internal sealed record SubscribeRequest(string Topic, string? Epoch = null, long? Seq = null);

internal sealed record SubscribeResult(string Topic, string Epoch, long Seq, bool Recovered, JsonElement? Snapshot, JsonElement[] Events);
