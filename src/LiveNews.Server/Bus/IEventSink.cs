namespace LiveNews.Server.Bus;

/// <summary>Where a node hands the events it relays: its own connected clients.</summary>
internal interface IEventSink
{
    /// <summary>
    /// Called in seq order per topic, once per event: with several when they reached the relay while it was
    /// handing over the ones before (a burst), so they can go to a reader together. Must not wait for any reader.
    /// </summary>
    void Deliver(string topic, IReadOnlyList<RawJson> envelopes);
}
