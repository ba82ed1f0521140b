# The reporting portal in English. Every language has exactly these messages (a test checks
# it); write plain, calm words for someone who may be upset and on a phone.

## This language, named in itself (in the language switch).
language-name = English

## Every page.
service-name = Report child sexual abuse online
skip-to-content = Skip to main content
quick-exit = Leave this site now
quick-exit-hint = Or press Esc twice to leave quickly.
languages-label = Languages
other-countries = Other countries and languages
run-by = This service is run by { $hotline }.
footer-privacy = We do not keep your internet (IP) address, or anything else about your device, with your report. We keep your e-mail address only if you give it, and use it only to tell you what happened.
error-prefix = Error:

## The report form.
form-heading = Report child sexual abuse online
form-intro = If you have seen sexual images or videos of a child on a website or an app, tell us where. You do not have to give your name.
scope-heading = What you can report here
scope-body = Images or videos on the internet that show a child (anyone under 18) being sexually abused or exploited.
danger-heading = Is a child in danger right now?
danger-call = Call the police on { $number }.
danger-call-local = Call your local emergency number.
other-heading = Something else?
other-body = For other harmful content, such as bullying, threats, scams or adult pornography, report it to the website or app where you saw it. If someone is asking a child for sexual images, or threatening to share them, contact the police.
dont-heading = Please do not
dont-download = download, save or take a screenshot of the images or videos
dont-send = send them to us or to anyone else, even to show what you saw
dont-search = look for more of this material
dont-why = Copying or sharing this material can be a crime, even when you mean to help. We only need the web address. This form never asks for a file.
urls-label = Web addresses (URLs)
urls-hint = Copy the address from your browser's address bar, for example https://example.com/page. Put each address on its own line. You can report up to 20 at once.
kind-legend = What did you see?
kind-images = Images
kind-videos = Videos
kind-both = Images and videos
kind-unsure = I am not sure
description-label = Anything else we should know (optional)
description-hint = For example, how you found it, or a password needed to see it. You do not need to describe the images or videos.
email-label = Your e-mail address (optional)
email-hint = Only if you want us to tell you what happened. We will not use it for anything else.
send = Send report
status-link = Already sent a report? Check its status

## Errors in the form, each shown at the top and beside its field.
error-summary-title = There is a problem
error-urls-missing = Enter the web address where you saw it
error-urls-too-many = Enter no more than 20 web addresses. You can send the others in another report.
error-url-scheme = Line { $line } is not a web address you can report here. It must start with http:// or https://
error-url-invalid = Line { $line } is not a web address. Check it and try again.
error-url-too-long = The web address on line { $line } is too long.
error-kind-missing = Select what you saw
error-description-too-long = The text under "Anything else we should know" is too long. Use 5,000 characters or fewer.
error-email-invalid = Enter an e-mail address like name@example.com, or leave it empty
notice-heading = Your report has not been sent yet
notice-csrf = For your security, please send the form again. Your answers are still here. If this happens again, check that your browser allows cookies for this site.
notice-busy = You have sent several reports in a short time. Please wait a minute, then send this one again. Your answers are still here.

## After sending.
filed-title = Report sent
filed-reference-label = Your reference number
filed-keep = Write this number down or keep it somewhere safe. It is the only way to check your report, because we do not know who you are.
next-heading = What happens next
next-check = An analyst checks each web address you gave. You will never be shown what we find.
next-remove = If the images or videos are illegal, we ask the website to remove them, and we tell the police where needed.
next-status = You can check where your report stands at any time with your reference number.
next-email = If you gave your e-mail address, we will write to tell you what happened.
filed-status-link = Check the status of this report
filed-another = Report another web address
support-heading = Look after yourself
support-body = Seeing this kind of material can be very upsetting. It is not your fault. Talking to someone you trust, or to a support service, can help.

## Looking up a report.
status-title = Check a report
status-intro = Enter the reference number you were given when you sent your report.
reference-label = Reference number
reference-hint = It starts with R, for example R-7K3M-Q9XP-2D4F.
status-send = Check status
error-reference-missing = Enter your reference number
error-reference-invalid = Enter the reference number as it was given to you, for example R-7K3M-Q9XP-2D4F
error-reference-unknown = We could not find a report with this reference number. Check it and try again.
status-sent-on = Sent on { $date }
status-caption = Where each web address stands
status-url = Web address
status-state = Status
status-urls-note = Web addresses are shown as text, not as links, so that nobody opens them by mistake.
status-another = Check another report
state-received = Received: waiting to be checked
state-unreachable = We could not reach this address yet. We will try again.
state-refused = We cannot check this address because it is not a public web address.
state-known = Checked: this material is already known and is being dealt with.
state-queued = Waiting for an analyst to check it
state-assessed = Checked: an analyst found illegal material. Action is being taken.
state-not-actionable = Checked: we could not take action on this address.
state-noticed = The website has been asked to remove it.
state-removed = Removed: the address no longer shows this material.

## Other pages.
not-found-title = Page not found
not-found-body = There is no reporting page at this address. Check the address, or use the form for all countries.
not-found-link = Go to the reporting form
upload-title = This form does not take files
upload-body = Never send images or videos, to us or to anyone else. Send only the web address where you saw them.
back-to-form = Go back to the form
error-title = Sorry, there is a problem with the service
error-body = Your report has not been sent. Please try again later.
countries-heading = Pages for one country
countries-intro = These pages give the country's emergency number and are shown in its languages.

## Countries, named in this language.
country-gb = United Kingdom
country-us = United States
country-ca = Canada
country-fr = France
country-es = Spain
country-mx = Mexico
country-ma = Morocco
country-eg = Egypt
country-br = Brazil
country-pt = Portugal

## Self-report: the person in an image stops it being shared, without sending it.
self-link-heading = Is a nude or sexual image of you being shared?
self-link-body = You can stop it being shared on websites and apps that take part, without showing it to anyone.
self-link = Stop an image of you being shared
self-title = Stop a nude or sexual image of you being shared
self-intro = If a nude or sexual picture or video of you is being shared online, or you are afraid it will be, you can stop websites and apps that take part from showing it. You never send the picture or video, to us or to anyone.
self-who-heading = Who this is for
self-who-body = It is for you if you are in the picture or video and were under 18 when it was taken. A parent, carer or another adult you trust can do it with you or for you.
self-how-heading = How it works
self-how-device = This page turns each picture or video into a hash: a string of letters and numbers worked out from it, on your device. The picture or video itself never leaves your device. Nobody sees it, not even us.
self-how-send = Only the hashes are sent to us. Websites and apps that take part compare what their users share with the hashes, and remove copies they find.
self-how-not = A hash cannot be turned back into a picture. We do not ask for your name and we do not keep your internet (IP) address.
self-how-limits = Websites and apps that do not take part will not get the hashes, and a copy that has been changed a lot, for example cropped, may not be found. You can still report web addresses where you saw it.
self-choose-label = Choose the pictures or videos
self-choose-hint = You can choose several at once. They stay on your device; this page does not show them.
self-working = Making the hashes. The files stay on your device.
self-ready = Files ready: { $count }. Nothing has been sent yet.
self-unreadable = Files that could not be read: { $count }. Only pictures and videos can be used.
self-send = Send the hashes
self-noscript = Making the hashes needs JavaScript, which is turned off in this browser. Turn it on for this site, or use another browser. Never send the picture or video itself: this page cannot take files.
self-case-link = Already have a case number? Add more pictures or withdraw your case
self-opened-title = Your hashes have been sent
self-case-label = Your case number
self-code-label = Your code
self-keep = Write down both and keep them somewhere safe. With them you can add more pictures or videos later, or withdraw your case. We cannot show the code again, because we do not know who you are.
self-received = Files whose hashes we received: { $count }.
self-next-heading = What happens next
self-next-body = Websites and apps that take part look for copies and remove those they find. This can take a few days. Nobody will contact you.
self-add-link = Add more pictures or videos to this case
self-case-title = Your self-report case
self-case-intro = Enter your case number and your code to add more pictures or videos, or to withdraw your case.
self-number-hint = It starts with S, for example S-7K3M-Q9XP-2D4F.
self-code-hint = The code you were given with your case number, for example 4T7Q-M2XH.
self-add-heading = Add pictures or videos
self-add-send = Add the hashes
self-withdraw-heading = Withdraw your case
self-withdraw-body = If you withdraw your case, all its hashes are removed, and websites and apps that take part are told to stop looking for them. You cannot undo this.
self-withdraw-send = Withdraw my case
self-added = Files added: { $count }. Files in your case now: { $total }.
self-withdrawn = Your case has been withdrawn. Its hashes have been removed.
self-unavailable-title = This service is not offered here yet
self-unavailable-body = Hashes cannot be sent on this site yet. You can still report web addresses where you saw the picture or video.
error-case-missing = Enter your case number and your code
error-case-unknown = We could not find a case with this number and code. Check them and try again.
error-case-withdrawn = This case has been withdrawn. To start again, send the hashes as a new case.
error-hashes-missing = Choose at least one picture or video
error-hashes-invalid = Something went wrong while making the hashes. Choose the files again.
error-hashes-too-many = You can send hashes for up to 50 files at once, and up to 500 in one case.
