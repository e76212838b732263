using LiveNews.Server.Editors;
using System.Text.Json;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Newsroom;

/// <summary>The result of a read-modify-publish: the envelope, or why nothing was published.</summary>
internal readonly record struct Published(RawJson? Envelope, bool NotFound, bool Full = false)
{
    public static Published Missing => new(null, NotFound: true);

    /// <summary>The change was already in place: nothing was published.</summary>
    public static Published Unchanged => new(null, NotFound: false);

    /// <summary>The topic holds as many items as it may: nothing was published (the caller answers 409).</summary>
    public static Published AtCeiling => new(null, NotFound: false, Full: true);
}

/// <summary>
/// Publishes newsroom events as compare-and-set on the topic's snapshot: read the current item or state,
/// decide the event, publish on condition that nothing changed in between, and retry if something did.
/// </summary>
internal sealed class Publisher(EventBus bus)
{
    private const int Attempts = 8;

    public static string Serialize<T>(T value) => LiveNewsJson.Serialize(value);

    /// <summary>
    /// Builds the event from the current state (null when the topic has none) and publishes it, unless
    /// <paramref name="decide"/> returns null (nothing to do: the caller answers 404) or
    /// <see cref="PlannedEvent.None"/> (already so: nothing published).
    /// </summary>
    public Task<Published> ChangeStateAsync(Topic topic, EventIds ids, Func<string?, PlannedEvent?> decide) =>
        PublishAsync(topic, ids, () => bus.GetStateAsync(topic), decide);

    public Task<Published> ChangeItemAsync(Topic topic, string itemId, EventIds ids, Func<string?, PlannedEvent?> decide) =>
        PublishAsync(topic, ids, () => bus.GetItemAsync(topic, itemId), decide);

    /// <summary>Adds an item with a new id: nothing to read first (the script still refuses if it exists).</summary>
    public Task<Published> CreateItemAsync(Topic topic, EventIds ids, Func<string?, PlannedEvent?> decide) =>
        PublishAsync(topic, ids, () => Task.FromResult<string?>(null), decide);

    private async Task<Published> PublishAsync(Topic topic, EventIds ids, Func<Task<string?>> read, Func<string?, PlannedEvent?> decide)
    {
        var eventId = ids.NextEventId();

        // A retry of a request whose first attempt reached Redis: answer with what it published, even
        // when the snapshot has moved on since (say, the alert it retracted is gone now).
        if (ids.AreDerived && await bus.GetPublishedAsync(topic, eventId) is { } earlier)
        {
            return new Published(earlier, NotFound: false);
        }

        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var current = await read();
            var planned = decide(current);
            if (planned is null)
            {
                return Published.Missing;
            }

            if (ReferenceEquals(planned, PlannedEvent.None))
            {
                return Published.Unchanged;
            }

            var result = await bus.PublishAsync(new PublishRequest(topic, planned.Type, planned.DataJson, planned.Change, eventId));
            switch (result.Status)
            {
                case PublishStatus.Published or PublishStatus.Replayed:
                    return new Published(result.Envelope, NotFound: false);
                case PublishStatus.Missing:
                    return Published.Missing;
                case PublishStatus.Full:
                    return Published.AtCeiling;
                case PublishStatus.Stale or PublishStatus.Kept:
                    // The item copies a later read of its source already (that request's change stands), or this
                    // read's copy was in place already.
                    return Published.Unchanged;
            }
        }

        throw new ConcurrencyException(topic.Name);
    }
}

/// <summary>An event decided from the current snapshot: its type, data and snapshot change.</summary>
internal sealed record PlannedEvent(string Type, string DataJson, SnapshotChange Change)
{
    /// <summary>Decided when the snapshot already holds the change: readers get no event for it.</summary>
    public static PlannedEvent None { get; } = new("", "", SnapshotChange.None);

    /// <summary>A change the store records without publishing an event (<see cref="SnapshotChange.KeepCopy"/>).</summary>
    public static PlannedEvent RecordOnly(SnapshotChange change) => new("", "", change);
}

/// <summary>Editors kept changing the same item faster than it could be updated.</summary>
internal sealed class ConcurrencyException(string topic) : Exception($"The snapshot of '{topic}' kept changing; try again.");
