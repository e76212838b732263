namespace LiveNews.Server.Store;

/// <summary>How long to wait before asking the store again while it does not answer (restarting, failing over).</summary>
internal static class StoreBackoff
{
    /// <summary>After <paramref name="failures"/> failures in a row (0 for the first): 1, 2, 4, 8, 16, then every 30 s.</summary>
    public static TimeSpan After(int failures) => TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures, 5)));
}
