# Le portail de signalement en français. Mêmes messages que l'anglais (un test le vérifie) ;
# des mots simples et calmes, pour quelqu'un qui peut être bouleversé et sur un téléphone.

## Cette langue, nommée dans cette langue.
language-name = Français

## Toutes les pages.
service-name = Signaler des abus sexuels sur enfants en ligne
skip-to-content = Aller au contenu principal
quick-exit = Quitter ce site maintenant
quick-exit-hint = Ou appuyez deux fois sur Échap pour partir rapidement.
languages-label = Langues
other-countries = Autres pays et langues
run-by = Ce service est géré par { $hotline }.
footer-privacy = Nous ne gardons pas votre adresse internet (adresse IP), ni rien d'autre sur votre appareil, avec votre signalement. Nous ne gardons votre adresse e-mail que si vous la donnez, et seulement pour vous dire ce qui s'est passé.
error-prefix = Erreur :

## Le formulaire de signalement.
form-heading = Signaler des abus sexuels sur enfants en ligne
form-intro = Si vous avez vu des images ou des vidéos sexuelles d'un enfant sur un site web ou une application, dites-nous où. Vous n'avez pas à donner votre nom.
scope-heading = Ce que vous pouvez signaler ici
scope-body = Des images ou des vidéos sur internet qui montrent un enfant (toute personne de moins de 18 ans) victime d'abus ou d'exploitation sexuels.
danger-heading = Un enfant est-il en danger en ce moment ?
danger-call = Appelez la police au { $number }.
danger-call-local = Appelez le numéro d'urgence de votre pays.
other-heading = Autre chose ?
other-body = Pour d'autres contenus nuisibles, comme le harcèlement, les menaces, les arnaques ou la pornographie adulte, signalez-les au site ou à l'application où vous les avez vus. Si quelqu'un demande des images sexuelles à un enfant, ou menace de les diffuser, contactez la police.
dont-heading = Surtout, ne pas
dont-download = télécharger, enregistrer ou faire une capture d'écran des images ou des vidéos
dont-send = les envoyer, ni à nous ni à personne, même pour montrer ce que vous avez vu
dont-search = chercher d'autres contenus de ce type
dont-why = Copier ou partager ces contenus peut être un délit, même si vous voulez aider. Nous avons seulement besoin de l'adresse web. Ce formulaire ne demande jamais de fichier.
urls-label = Adresses web (URL)
urls-hint = Copiez l'adresse depuis la barre d'adresse de votre navigateur, par exemple https://example.com/page. Mettez chaque adresse sur sa propre ligne. Vous pouvez en signaler jusqu'à 20 à la fois.
kind-legend = Qu'avez-vous vu ?
kind-images = Des images
kind-videos = Des vidéos
kind-both = Des images et des vidéos
kind-unsure = Je ne suis pas sûr(e)
description-label = Autre chose à nous dire (facultatif)
description-hint = Par exemple, comment vous l'avez trouvé, ou un mot de passe nécessaire pour le voir. Vous n'avez pas besoin de décrire les images ou les vidéos.
email-label = Votre adresse e-mail (facultatif)
email-hint = Seulement si vous voulez que nous vous disions ce qui s'est passé. Nous ne l'utiliserons pour rien d'autre.
send = Envoyer le signalement
status-link = Vous avez déjà envoyé un signalement ? Consultez son suivi

## Erreurs du formulaire, chacune en haut de la page et à côté de son champ.
error-summary-title = Il y a un problème
error-urls-missing = Indiquez l'adresse web où vous l'avez vu
error-urls-too-many = Indiquez 20 adresses web au maximum. Vous pouvez envoyer les autres dans un autre signalement.
error-url-scheme = La ligne { $line } n'est pas une adresse web que vous pouvez signaler ici. Elle doit commencer par http:// ou https://
error-url-invalid = La ligne { $line } n'est pas une adresse web. Vérifiez-la et réessayez.
error-url-too-long = L'adresse web de la ligne { $line } est trop longue.
error-kind-missing = Choisissez ce que vous avez vu
error-description-too-long = Le texte sous « Autre chose à nous dire » est trop long. Utilisez 5 000 caractères au maximum.
error-email-invalid = Indiquez une adresse e-mail comme nom@example.com, ou laissez le champ vide
notice-heading = Votre signalement n'est pas encore envoyé
notice-csrf = Pour votre sécurité, merci d'envoyer le formulaire à nouveau. Vos réponses sont toujours là. Si cela se reproduit, vérifiez que votre navigateur accepte les cookies de ce site.
notice-busy = Vous avez envoyé plusieurs signalements en peu de temps. Merci d'attendre une minute, puis d'envoyer celui-ci à nouveau. Vos réponses sont toujours là.

## Après l'envoi.
filed-title = Signalement envoyé
filed-reference-label = Votre numéro de référence
filed-keep = Notez ce numéro ou gardez-le dans un endroit sûr. C'est le seul moyen de suivre votre signalement, car nous ne savons pas qui vous êtes.
next-heading = Et ensuite ?
next-check = Un analyste vérifie chaque adresse web que vous avez donnée. On ne vous montrera jamais ce que nous trouvons.
next-remove = Si les images ou les vidéos sont illégales, nous demandons au site de les retirer, et nous prévenons la police si nécessaire.
next-status = Vous pouvez suivre votre signalement à tout moment avec votre numéro de référence.
next-email = Si vous avez donné votre adresse e-mail, nous vous écrirons pour vous dire ce qui s'est passé.
filed-status-link = Voir le suivi de ce signalement
filed-another = Signaler une autre adresse web
support-heading = Prenez soin de vous
support-body = Voir ce genre de contenu peut être très bouleversant. Ce n'est pas de votre faute. En parler à une personne de confiance, ou à un service d'écoute, peut aider.

## Suivre un signalement.
status-title = Suivre un signalement
status-intro = Indiquez le numéro de référence qui vous a été donné quand vous avez envoyé votre signalement.
reference-label = Numéro de référence
reference-hint = Il commence par R, par exemple R-7K3M-Q9XP-2D4F.
status-send = Voir le suivi
error-reference-missing = Indiquez votre numéro de référence
error-reference-invalid = Indiquez le numéro de référence tel qu'il vous a été donné, par exemple R-7K3M-Q9XP-2D4F
error-reference-unknown = Nous n'avons trouvé aucun signalement avec ce numéro de référence. Vérifiez-le et réessayez.
status-sent-on = Envoyé le { $date }
status-caption = Où en est chaque adresse web
status-url = Adresse web
status-state = Suivi
status-urls-note = Les adresses web sont affichées en texte, pas en liens, pour que personne ne les ouvre par erreur.
status-another = Suivre un autre signalement
state-received = Reçu : en attente de vérification
state-unreachable = Nous n'avons pas encore pu joindre cette adresse. Nous réessaierons.
state-refused = Nous ne pouvons pas vérifier cette adresse, car ce n'est pas une adresse web publique.
state-known = Vérifié : ce contenu est déjà connu et il est traité.
state-queued = En attente de vérification par un analyste
state-assessed = Vérifié : un analyste a trouvé un contenu illégal. Des mesures sont prises.
state-not-actionable = Vérifié : nous n'avons pas pu agir sur cette adresse.
state-noticed = Il a été demandé au site de le retirer.
state-removed = Retiré : l'adresse ne montre plus ce contenu.

## Autres pages.
not-found-title = Page introuvable
not-found-body = Il n'y a pas de page de signalement à cette adresse. Vérifiez l'adresse, ou utilisez le formulaire pour tous les pays.
not-found-link = Aller au formulaire de signalement
upload-title = Ce formulaire n'accepte pas de fichiers
upload-body = N'envoyez jamais d'images ni de vidéos, ni à nous ni à personne. Envoyez seulement l'adresse web où vous les avez vues.
back-to-form = Revenir au formulaire
error-title = Désolé, le service rencontre un problème
error-body = Votre signalement n'a pas été envoyé. Merci de réessayer plus tard.
countries-heading = Pages pour un pays
countries-intro = Ces pages donnent le numéro d'urgence du pays et sont proposées dans ses langues.

## Les pays, nommés en français.
country-gb = Royaume-Uni
country-us = États-Unis
country-ca = Canada
country-fr = France
country-es = Espagne
country-mx = Mexique
country-ma = Maroc
country-eg = Égypte
country-br = Brésil
country-pt = Portugal
