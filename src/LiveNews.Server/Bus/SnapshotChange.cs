using System.Globalization;

namespace LiveNews.Server.Bus;

internal enum SnapshotOperation
{
    None,
    SetState,
    ClearState,
    UpsertItem,
    RemoveItem,

    /// <summary>Publishes nothing: records that the item already is the copy of <see cref="SnapshotChange.CopiedFrom"/>.</summary>
    KeepCopy,
}

/// <summary>Which events of the history a removal turns into tombstones (<c>{ id, removed: true }</c>).</summary>
internal enum Takedown
{
    /// <summary>History keeps the item's text (an alert that merely expired).</summary>
    None,

    /// <summary>Every event that carried the removed item.</summary>
    Item,

    /// <summary>Every event of the topic (an unpublished article, with its entries).</summary>
    All,
}

internal enum Precondition
{
    None,
    Absent,
    Present,
    Equals,
}

/// <summary>
/// How an event changes its topic's snapshot, applied in the same atomic step as the publish. The
/// precondition turns read-modify-write into compare-and-set: when the snapshot is not as the caller
/// read it, nothing is published.
/// </summary>
internal sealed record SnapshotChange
{
    public static SnapshotChange None { get; } = new() { Operation = SnapshotOperation.None };

    public SnapshotOperation Operation { get; init; }

    public string? ItemId { get; init; }

    public string? Json { get; init; }

    public double Score { get; init; }

    /// <summary>Order the item by the seq of the event that first added it (live-blog entries): unique and
    /// stable, so paging by it returns every item exactly once.</summary>
    public bool ScoreBySeq { get; init; }

    /// <summary>True pins the item, false unpins it, null leaves it as it is.</summary>
    public bool? Pinned { get; init; }

    /// <summary>Refuse the change when the topic has no state (entries of an article that is not published).</summary>
    public bool RequiresState { get; init; }

    /// <summary>What a removal takes out of the history too.</summary>
    public Takedown Takedown { get; init; }

    /// <summary>On a removal: keep the item's place so a paging cursor that names it still works.</summary>
    public bool KeepsCursor { get; init; }

    /// <summary>On clearing the state: remove every item with it.</summary>
    public bool PurgesItems { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public Precondition Precondition { get; init; }

    /// <summary>For <see cref="Precondition.Equals"/>: the item or state JSON as the caller read it.</summary>
    public string? Expected { get; init; }

    /// <summary>
    /// For an item that copies another topic's state (an article listed in <c>latest</c>): where that topic
    /// stood when the copy was read. A change from an older position than the last one applied to the item is
    /// refused as stale, so a slow request cannot list again what a later one took down.
    /// </summary>
    public TopicPosition? CopiedFrom { get; init; }

    public static SnapshotChange SetState(string json, string? expected) =>
        new() { Operation = SnapshotOperation.SetState, Json = json, Precondition = Expect(expected), Expected = expected };

    public static SnapshotChange ClearState(string expected) =>
        new() { Operation = SnapshotOperation.ClearState, Precondition = Precondition.Equals, Expected = expected };

    /// <summary>Takes the topic down: its state, every item and every event's text in history.</summary>
    public static SnapshotChange TakeDown(string expected) =>
        ClearState(expected) with { PurgesItems = true, Takedown = Takedown.All };

    public static SnapshotChange Upsert(string itemId, string json, double score, DateTimeOffset? expiresAt, string? expected) =>
        new()
        {
            Operation = SnapshotOperation.UpsertItem,
            ItemId = itemId,
            Json = json,
            Score = score,
            ExpiresAt = expiresAt,
            Precondition = Expect(expected),
            Expected = expected,
        };

    /// <summary>Sets an item whatever it was (for items only one writer changes at a time, like share jobs).</summary>
    public static SnapshotChange Put(string itemId, string json, double score) =>
        new() { Operation = SnapshotOperation.UpsertItem, ItemId = itemId, Json = json, Score = score };

    /// <summary>
    /// Takes the text of an item no longer in the snapshot (an alert that expired) out of the history: there is
    /// nothing to remove. Nothing is published if the item is back, or if no event of the history carries it
    /// (the publish answers missing).
    /// </summary>
    public static SnapshotChange TakeDownGone(string itemId) =>
        new() { Operation = SnapshotOperation.RemoveItem, ItemId = itemId, Precondition = Precondition.Absent, Takedown = Takedown.Item };

    /// <summary>
    /// Publishes nothing, and records that the item as the caller read it (<paramref name="expected"/>; null:
    /// absent) is already the copy of its source at <paramref name="position"/>, so an older copy that arrives
    /// later is refused. Nothing is recorded if the item changed since it was read.
    /// </summary>
    public static SnapshotChange KeepCopy(string itemId, string? expected, TopicPosition position) =>
        new() { Operation = SnapshotOperation.KeepCopy, ItemId = itemId, Precondition = Expect(expected), Expected = expected, CopiedFrom = position };

    /// <summary>Removes an item; with <paramref name="takedown"/>, its text leaves the history too.</summary>
    public static SnapshotChange Remove(string itemId, string expected, Takedown takedown = Takedown.None) =>
        new() { Operation = SnapshotOperation.RemoveItem, ItemId = itemId, Precondition = Precondition.Equals, Expected = expected, Takedown = takedown };

    internal string OperationArgument => Operation switch
    {
        SnapshotOperation.SetState => "state",
        SnapshotOperation.ClearState => "clear",
        SnapshotOperation.UpsertItem => "upsert",
        SnapshotOperation.RemoveItem => "remove",
        SnapshotOperation.KeepCopy => "keep",
        _ => "none",
    };

    internal string PreconditionArgument => Precondition switch
    {
        Precondition.Absent => "absent",
        Precondition.Present => "present",
        Precondition.Equals => "equals",
        _ => "any",
    };

    internal string ScoreArgument => (Operation, ScoreBySeq, KeepsCursor) switch
    {
        (SnapshotOperation.UpsertItem, true, _) => "seq",
        (SnapshotOperation.RemoveItem, _, true) => "cursor",
        _ => Score.ToString("R", CultureInfo.InvariantCulture),
    };

    internal string PinArgument => Pinned switch { true => "1", false => "0", null => "" };

    internal string TakedownArgument => Takedown switch { Takedown.Item => "item", Takedown.All => "all", _ => "" };

    internal string CopiedFromArgument => CopiedFrom is { } from ? $"{from.Epoch}:{from.Seq.ToString(CultureInfo.InvariantCulture)}" : "";

    private static Precondition Expect(string? expected) => expected is null ? Precondition.Absent : Precondition.Equals;
}

/// <summary>Where a topic stood: its epoch and the seq of its last event (<c>""</c> and 0 before its first).</summary>
internal readonly record struct TopicPosition(string Epoch, long Seq);
