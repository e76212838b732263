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
    ValueTask DeliverAsync(string topic, IReadOnlyList<RawJson> envelopes);
}
