namespace LiveNews.Server.Store;

/// <summary>Where this node keeps files on disk. Bound from the <c>Store</c> section.</summary>
public sealed class DataPathOptions
{
    public const string SectionName = "Store";

    /// <summary>
    /// The embedded store's append-only log and checkpoints, and files other features keep beside them
    /// (Data Protection keys). Relative paths start at the content root; empty keeps everything in memory.
    /// </summary>
    public string? DataPath { get; set; } = "data";

    /// <summary>The full path of <see cref="DataPath"/>, or null when data is kept in memory only.</summary>
    internal string? Resolve(IHostEnvironment environment) =>
        string.IsNullOrWhiteSpace(DataPath) ? null : Path.GetFullPath(DataPath, environment.ContentRootPath);
}
