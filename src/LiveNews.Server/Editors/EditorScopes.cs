using System.Security.Claims;

namespace LiveNews.Server.Editors;

/// <summary>The scopes an editor identity may hold, and the policies named after them.</summary>
internal static class EditorScopes
{
    public const string Publish = "publish";
    public const string Share = "share";
    public const string ClaimType = "scope";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal) { Publish, Share };

    /// <summary>True when a <c>scope</c> claim (space-separated, as OAuth issues it) holds <paramref name="scope"/>.</summary>
    public static bool HasScope(ClaimsPrincipal? user, string scope) =>
        user?.FindAll(c => c.Type is ClaimType or "scp")
            .Any(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal)) == true;

    public static bool IsEditor(ClaimsPrincipal? user) => All.Any(scope => HasScope(user, scope));
}
