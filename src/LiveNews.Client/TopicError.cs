using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Client;

/// <summary>
/// Why one topic could not be subscribed; the other topics are not affected. A <see cref="TopicErrorReason.Refused"/>
/// topic is dropped and its updates end with the <see cref="HubException"/>; an
/// <see cref="TopicErrorReason.Unavailable"/> one is tried again after <see cref="RetryIn"/>.
/// </summary>
public sealed record TopicError(string Topic, TopicErrorReason Reason, string Message, TimeSpan? RetryIn);

public enum TopicErrorReason
{
    /// <summary>The server will never accept the topic: a bad name, editors only, too many topics.</summary>
    Refused,

    /// <summary>The store could not serve the topic now; retried with exponential backoff.</summary>
    Unavailable,
}
