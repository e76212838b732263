namespace LiveNews.Server.Bus;

/// <summary>Where a node hands the events it relays: its own connected clients.</summary>
internal interface IEventSink
{
    /// <summary>Called in seq order per topic, once per event. Must not wait for any reader.</summary>
    void Deliver(string topic, RawJson envelope);
}
