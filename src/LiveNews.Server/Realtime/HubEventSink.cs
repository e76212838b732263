using LiveNews.Server.Bus;
using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Server.Realtime;

/// <summary>Pushes relayed events to the connections of this node subscribed to the topic.</summary>
internal sealed class HubEventSink(IHubContext<LiveHub> hub) : IEventSink
{
    // The group send serializes the message once per protocol for all of the group's connections.
    public Task DeliverAsync(string topic, RawJson envelope) => hub.Clients.Group(topic).SendAsync("event", envelope);
}
