using System.Text.Json;
using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

/// <summary>
/// Share an article to chosen accounts (now or at a time), preview the posts, follow the jobs, retry or
/// cancel one, see each account's health; and readers' share links.
/// </summary>
internal static class SocialApi
{
    private const int MaxTextLength = 5000;

    /// <summary>How far ahead a share may be scheduled (well within how long a job is kept).</summary>
    private static readonly TimeSpan MaxSchedule = TimeSpan.FromDays(30);

    public sealed record ShareBody(List<string>? Accounts, Dictionary<string, string>? Text, DateTimeOffset? At, bool? Force);

    public sealed record RetryBody(bool? ConfirmNotPosted);

    public static void MapShares(this RouteGroupBuilder editors)
    {
        editors.MapPost("/articles/{id}/shares", ShareAsync).Accepts<ShareBody>("application/json").WithName("ShareArticle");
        editors.MapPost("/articles/{id}/shares/preview", PreviewAsync).Accepts<ShareBody>("application/json").WithName("PreviewShare");
        editors.MapGet("/articles/{id}/shares", ListAsync).WithName("ListShares");
        editors.MapPost("/shares/{jobId}/retry", RetryAsync).Accepts<RetryBody>("application/json").WithName("RetryShare");
        editors.MapDelete("/shares/{jobId}", CancelAsync).WithName("CancelShare");
        editors.MapGet("/social/accounts", AccountsAsync).WithName("SocialAccounts");
    }

    public static void MapShareLinks(this RouteGroupBuilder readers) =>
        readers.MapGet("/articles/{id}/share-links", ShareLinksAsync).WithName("GetShareLinks");

    private static async Task<IResult> ShareAsync(string id, HttpContext http, JsonBody body, ShareService shares, TimeProvider time)
    {
        var (request, accounts, texts, problem) = await ReadAsync(id, http, body, shares, time);
        if (problem is not null)
        {
            return problem;
        }

        if (await shares.PublishedArticleAsync(id) is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "Only a published article can be shared.");
        }

        var result = await shares.ShareAsync(id, accounts, texts, request!.At, request.Force == true, EventIds.For(http));
        if (result.Conflicts.Count > 0)
        {
            var where = string.Join(", ", result.Conflicts.Select(j => $"{j.Account} (job {j.Id}, {j.State})"));
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already shared",
                detail: $"This article is, or may be, posted on {where}. Send \"force\": true to post it again.",
                extensions: new Dictionary<string, object?> { ["jobs"] = JsonSerializer.SerializeToElement(result.Conflicts.Select(ShareJobView.Of), LiveNewsJson.Stored) });
        }

        return Json(new { jobs = result.Jobs.Select(ShareJobView.Of) }, StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PreviewAsync(string id, HttpContext http, JsonBody body, ShareService shares, TimeProvider time)
    {
        var (_, accounts, texts, problem) = await ReadAsync(id, http, body, shares, time);
        if (problem is not null)
        {
            return problem;
        }

        var article = await shares.PublishedArticleAsync(id);
        if (article is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "Only a published article can be previewed.");
        }

        return Json(new { previews = await shares.PreviewAsync(article, accounts, texts, http.RequestAborted) });
    }

    /// <summary>The share body, checked field by field (shared by share and preview).</summary>
    private static async Task<(ShareBody? Body, List<SocialAccountOptions> Accounts, Dictionary<string, string> Texts, IResult? Problem)> ReadAsync(
        string id, HttpContext http, JsonBody body, ShareService shares, TimeProvider time)
    {
        var accounts = new List<SocialAccountOptions>();
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        var check = new Validation();
        check.Id("id", id);
        if (!check.IsValid)
        {
            return (null, accounts, texts, TypedResults.ValidationProblem(check.Errors));
        }

        var (request, problem) = await body.ReadAsync<ShareBody>(http.Request);
        if (problem is not null)
        {
            return (null, accounts, texts, problem);
        }

        if (request!.Accounts is not { Count: > 0 })
        {
            check.Add("accounts", "Name at least one configured account.");
        }

        for (var i = 0; i < (request.Accounts?.Count ?? 0); i++)
        {
            var name = request.Accounts![i];
            var account = shares.Accounts.FirstOrDefault(a => a.Name == name);
            if (account is null)
            {
                check.Add($"accounts[{i}]", $"No account named '{Clip(name)}' is configured (configured: {string.Join(", ", shares.Accounts.Select(a => a.Name))}).");
            }
            else if (!accounts.Contains(account))
            {
                accounts.Add(account);
            }
        }

        foreach (var (name, text) in request.Text ?? [])
        {
            if (request.Accounts?.Contains(name) != true)
            {
                check.Add($"text.{Clip(name)}", "Text is for an account this request does not share to.");
                continue;
            }

            var value = check.OptionalText($"text.{name}", text, MaxTextLength, multiline: true);
            if (value is not null)
            {
                texts[name] = value;
            }
        }

        if (request.At is { } at && at - time.GetUtcNow() > MaxSchedule)
        {
            check.Add("at", $"A share can be scheduled at most {MaxSchedule.TotalDays:0} days ahead.");
        }

        return check.IsValid ? (request, accounts, texts, null) : (request, accounts, texts, TypedResults.ValidationProblem(check.Errors));
    }

    private static async Task<IResult> ListAsync(string id, ShareService shares) =>
        Topic.IsValidArticleId(id)
            ? Json(new { jobs = (await shares.ForArticleAsync(id)).Select(ShareJobView.Of) })
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article");

    private static async Task<IResult> RetryAsync(string jobId, HttpContext http, JsonBody body, ShareService shares)
    {
        var job = Topic.IsValidArticleId(jobId) ? await shares.GetAsync(jobId) : null;
        if (job is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such share job");
        }

        // The body is optional: only an unconfirmed job needs one.
        var confirmNotPosted = false;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            var (request, problem) = await body.ReadAsync<RetryBody>(http.Request);
            if (problem is not null)
            {
                return problem;
            }

            confirmNotPosted = request!.ConfirmNotPosted == true;
        }

        var queued = await shares.RetryAsync(job, confirmNotPosted);
        return queued is not null
            ? Json(ShareJobView.Of(queued), StatusCodes.Status202Accepted)
            : job.State == ShareStates.Unconfirmed && !confirmNotPosted
                ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Confirm the post is not there",
                    detail: $"The job is unconfirmed: the post may exist on {job.Network}. Check, and if it does not, retry with {{\"confirmNotPosted\": true}}.")
                : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Cannot retry", detail: $"The job is {job.State}; only failed, dead or unconfirmed jobs can be retried.");
    }

    private static async Task<IResult> CancelAsync(string jobId, ShareService shares)
    {
        var job = Topic.IsValidArticleId(jobId) ? await shares.GetAsync(jobId) : null;
        if (job is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such share job");
        }

        return await shares.CancelAsync(job) is { } cancelled
            ? Json(ShareJobView.Of(cancelled))
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Cannot cancel", detail: $"The job is {job.State}; only a scheduled share can be cancelled.");
    }

    private static async Task<IResult> AccountsAsync(AccountHealth health) => Json(await health.ListAsync());

    /// <summary>Answers with the stored-document JSON options, so every time reads as UTC with milliseconds and Z.</summary>
    private static IResult Json<T>(T value, int status = StatusCodes.Status200OK) => TypedResults.Json(value, LiveNewsJson.Stored, statusCode: status);

    private static async Task<IResult> ShareLinksAsync(string id, ShareService shares, IOptions<SocialOptions> options)
    {
        var article = Topic.IsValidArticleId(id) ? await shares.PublishedArticleAsync(id) : null;
        if (article is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "No published article has this id.");
        }

        var utm = options.Value.UtmParameters;
        return TypedResults.Ok(new
        {
            url = ShareLinks.Tagged(article.Url, utm, "share"),
            links = ShareLinks.For(article.Url, article.Headline, utm),
            mastodonSharePath = ShareLinks.MastodonPath(article.Url, article.Headline, utm),
        });
    }

    private static string Clip(string value) => value.Length > 64 ? value[..64] : value;
}
