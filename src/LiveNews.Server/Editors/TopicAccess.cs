using System.Security.Claims;
using LiveNews.Server.Bus;

namespace LiveNews.Server.Editors;

/// <summary>Who may read which topic: the one rule for hub subscribes and HTTP topic reads.</summary>
internal static class TopicAccess
{
    /// <summary>Public topics for anyone; <c>newsroom</c> carries share-job details, for the share scope only.</summary>
    public static bool CanRead(ClaimsPrincipal? user, Topic topic) =>
        topic.IsPublic || EditorScopes.HasScope(user, EditorScopes.Share);

    public static string Refusal(Topic topic) => $"Topic '{topic.Name}' is for editors with the share scope only.";
}
