using System.Diagnostics.CodeAnalysis;

namespace LiveNews.Server.Bus;

internal enum TopicKind
{
    Live,
    Breaking,
    Latest,
    Article,
    Newsroom,
}

/// <summary>A validated topic name: <c>live</c>, <c>breaking</c>, <c>latest</c>, <c>newsroom</c> or <c>article:{id}</c>.</summary>
internal readonly record struct Topic
{
    public const int MaxArticleIdLength = Slug.MaxLength;
    private const string ArticlePrefix = "article:";

    private Topic(string name, TopicKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public TopicKind Kind { get; }

    /// <summary>Readers may subscribe; <c>newsroom</c> is for editors only.</summary>
    public bool IsPublic => Kind != TopicKind.Newsroom;

    public static Topic Live { get; } = new("live", TopicKind.Live);

    public static Topic Breaking { get; } = new("breaking", TopicKind.Breaking);

    public static Topic Latest { get; } = new("latest", TopicKind.Latest);

    public static Topic Newsroom { get; } = new("newsroom", TopicKind.Newsroom);

    public static Topic Article(string articleId) =>
        IsValidArticleId(articleId)
            ? new Topic(ArticlePrefix + articleId, TopicKind.Article)
            : throw new ArgumentException($"'{articleId}' is not a valid article id.", nameof(articleId));

    public static bool TryParse(string? name, [NotNullWhen(true)] out Topic? topic, [NotNullWhen(false)] out string? error)
    {
        topic = name switch
        {
            "live" => Live,
            "breaking" => Breaking,
            "latest" => Latest,
            "newsroom" => Newsroom,
            _ => null,
        };
        if (topic is not null)
        {
            error = null;
            return true;
        }

        if (name is not null && name.StartsWith(ArticlePrefix, StringComparison.Ordinal) && IsValidArticleId(name.AsSpan(ArticlePrefix.Length)))
        {
            topic = new Topic(name, TopicKind.Article);
            error = null;
            return true;
        }

        error = $"Unknown topic '{Printable(name)}': use live, breaking, latest, newsroom or article:{{id}} "
            + $"(id of lowercase letters, digits and dashes, at most {MaxArticleIdLength}).";
        return false;
    }

    /// <summary>Article ids follow the <see cref="Slug"/> rule.</summary>
    public static bool IsValidArticleId(ReadOnlySpan<char> id) => Slug.IsValid(id);

    public override string ToString() => Name;

    // Echo hostile input back without control characters and at a bounded length.
    private static string Printable(string? value)
    {
        if (value is null)
        {
            return "";
        }

        var clipped = value.Length > 64 ? value[..64] + "…" : value;
        return string.Create(clipped.Length, clipped, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });
    }
}
