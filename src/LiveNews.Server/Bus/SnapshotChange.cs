using System.Globalization;

namespace LiveNews.Server.Bus;

internal enum SnapshotOperation
{
    None,
    SetState,
    ClearState,
    UpsertItem,
    RemoveItem,
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

    public DateTimeOffset? ExpiresAt { get; init; }

    public Precondition Precondition { get; init; }

    /// <summary>For <see cref="Precondition.Equals"/>: the item or state JSON as the caller read it.</summary>
    public string? Expected { get; init; }

    public static SnapshotChange SetState(string json, string? expected) =>
        new() { Operation = SnapshotOperation.SetState, Json = json, Precondition = Expect(expected), Expected = expected };

    public static SnapshotChange ClearState(string expected) =>
        new() { Operation = SnapshotOperation.ClearState, Precondition = Precondition.Equals, Expected = expected };

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

    public static SnapshotChange Remove(string itemId, string expected) =>
        new() { Operation = SnapshotOperation.RemoveItem, ItemId = itemId, Precondition = Precondition.Equals, Expected = expected };

    internal string OperationArgument => Operation switch
    {
        SnapshotOperation.SetState => "state",
        SnapshotOperation.ClearState => "clear",
        SnapshotOperation.UpsertItem => "upsert",
        SnapshotOperation.RemoveItem => "remove",
        _ => "none",
    };

    internal string PreconditionArgument => Precondition switch
    {
        Precondition.Absent => "absent",
        Precondition.Present => "present",
        Precondition.Equals => "equals",
        _ => "any",
    };

    internal string ScoreArgument => Score.ToString("R", CultureInfo.InvariantCulture);

    private static Precondition Expect(string? expected) => expected is null ? Precondition.Absent : Precondition.Equals;
}
