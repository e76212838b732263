namespace LiveNews.Client;

/// <summary>
/// How many read a topic (<c>live</c>, <c>article:{id}</c>) over all server nodes, counted at <see cref="At"/>.
/// Sent when it changes, at most once per the server's interval; not an event (no seq, never replayed).
/// </summary>
public sealed record ViewerCount(string Topic, long Count, DateTimeOffset At);
