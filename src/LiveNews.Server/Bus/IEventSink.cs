namespace LiveNews.Server.Bus;

/// <summary>Where a node hands the events it relays: its own connected clients.</summary>
internal interface IEventSink
{
    /// <summary>
    /// Called in seq order per topic, once per event: with several when they reached the relay while it was
    /// handing over the ones before (a burst), so they can go to a reader together. The relay awaits the task
    /// before it hands over the topic's next events; it may yield the thread while it queues to many readers,
    /// but must not wait for any reader.
    /// </summary>
    /// <param name="topic">The topic the events are on.</param>
    /// <param name="envelopes">The events, in seq order.</param>
    /// <param name="through">The topic's epoch and the seq of the last of the events.</param>
    /// <param name="eventsWaiting">
    /// True while more of the topic's events have reached the relay and wait for this hand-over to end (or a
    /// catch-up from history does, which may bring none).
    /// </param>
    ValueTask DeliverAsync(string topic, IReadOnlyList<RawJson> envelopes, TopicPosition through, Func<bool> eventsWaiting);
}
