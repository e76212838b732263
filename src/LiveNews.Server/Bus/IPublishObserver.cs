namespace LiveNews.Server.Bus;

/// <summary>
/// Told on the publishing node once a topic changed (a publish, or the replay of one), after Redis holds
/// it: for work that follows a change, such as announcing a feed. Features implement it; the bus knows none.
/// </summary>
internal interface IPublishObserver
{
    /// <summary>Must not throw; it delays the editor's answer, so it does one quick thing at most.</summary>
    Task ChangedAsync(Topic topic);
}
